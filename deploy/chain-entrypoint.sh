#!/bin/sh
# Entry point of the chain image (deploy/Dockerfile.chain): anvil with the DEVELOPMENT mnemonic.
# anvil takes the phrase itself, not a file, hence this wrapper; the mnemonic is mounted as a secret
# (MNEMONIC_FILE, default /run/secrets/dev-mnemonic), never baked into the image; the other options
# come from the Dockerfile's ENTRYPOINT. DEVELOPMENT ONLY: the dev mnemonic is public.
set -eu
file=${MNEMONIC_FILE:-/run/secrets/dev-mnemonic}
if [ ! -r "$file" ]; then
    echo "chain: no mnemonic at $file: mount devnet/dev-only/mnemonic.txt there (compose: secrets)" >&2
    exit 64
fi
exec /opt/paychan/bin/anvil --mnemonic "$(cat "$file")" "$@"
