#!/bin/sh
# Entry point of the chain image (deploy/Dockerfile.chain): anvil with the DEVELOPMENT mnemonic.
# anvil takes the phrase itself, not a file, hence this wrapper; the other options come from
# the Dockerfile's ENTRYPOINT. DEVELOPMENT ONLY: the mnemonic is public.
set -eu
exec /opt/paychan/bin/anvil --mnemonic "$(cat /opt/paychan/devnet/dev-only/mnemonic.txt)" "$@"
