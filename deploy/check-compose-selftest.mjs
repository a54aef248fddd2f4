#!/usr/bin/env node
// deploy/check-compose-selftest.mjs: shows that deploy/check-compose.mjs can fail. It mirrors the
// repository in a temporary directory (symbolic links to the source entries, a copy of deploy/),
// checks that the unchanged mirror passes, then makes one change at a time to a copied compose
// file or Dockerfile (a port, an option value, an environment value, a missing volume, ...) and
// checks that the check fails naming that change. Exit 0 when every change was caught.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DEPLOY = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.dirname(DEPLOY);
const CHECK = path.join(DEPLOY, 'check-compose.mjs');

// [file in deploy/, text to replace, replacement, a piece of the expected problem line]
const MUTATIONS = [
  ['docker-compose.yml', 'ports: ["3000:3000"]', 'ports: ["3001:3000"]', 'published ports ["3001:3000"]'],
  ['docker-compose.yml', '"--port", "3000"', '"--port", "3005"', 'compose runs "3005"'],
  ['docker-compose.yml', '"--chain-id", "31337",\n', '"--chain-id", "1",\n', 'compose runs "1"'],
  ['docker-compose.yml', '"--listen", "0.0.0.0"', '"--listen", "127.0.0.1"', 'compose runs "127.0.0.1"'],
  ['docker-compose.yml', 'http://chain:8545", "--chain-id', 'http://127.0.0.1:8545", "--chain-id', 'scenarios.json means "http://chain:8545"'],
  ['docker-compose.yml', '"--visualizer", "/opt/paychan/visualizer"', '"--visualizer", "/opt/paychan/visualiser"', 'compose runs "/opt/paychan/visualiser"'],
  ['docker-compose.yml', '              "--account", "/run/secrets/random-keystore:/run/secrets/dev-password",\n', '', 'missing'],
  ['docker-compose.yml', 'secrets: [consumer-keystore, persistence-keystore, random-keystore, dev-password]', 'secrets: [consumer-keystore, persistence-keystore, dev-password]', 'does not list secret random-keystore'],
  ['docker-compose.yml', 'random-keystore: {file: ../devnet/dev-only/keystores/random.json}', 'random-keystore: {file: ../devnet/dev-only/keystores/spare1.json}', 'no compose secret has this file'],
  ['docker-compose.yml', 'secrets: [dev-mnemonic]', 'secrets: []', 'needs the secret dev-mnemonic'],
  ['docker-compose.yml', 'volumes: ["chain-state:/var/lib/paychan-chain"]', 'volumes: []', 'state on a named volume'],
  ['Dockerfile.paychand.dockerignore', '!visualizer/\n', '!visualizer/\n!devnet/\n', 'must keep devnet/dev-only/ out'],
  ['docker-compose.yml', 'volumes: ["paychand-data:/var/lib/paychan"]', 'volumes: ["paychand-data:/data"]', 'mounts no named volume'],
  ['docker-compose.yml', 'chain: {condition: service_healthy}', 'chain: {condition: service_started}', 'expected service_healthy'],
  ['docker-compose.yml', '"http://127.0.0.1:3000/ready"', '"http://127.0.0.1:3000/status"', 'healthcheck must probe'],
  ['docker-compose.no-payment.yml', 'PAYMENT_INACTIVE: "true"\n    ports: ["8002:8002"]', 'PAYMENT_INACTIVE: "false"\n    ports: ["8002:8002"]', 'environment PAYMENT_INACTIVE'],
  ['docker-compose.no-payment.yml', 'RANDOM_NR_SERVICE_URL: "http://random-nr-service:8002"', 'RANDOM_NR_SERVICE_URL: "http://random-nr-service:8012"', 'environment RANDOM_NR_SERVICE_URL'],
  ['docker-compose.no-payment.yml', 'ports: ["8003:8003"]', 'ports: [8003]', 'not a quoted "HOST:CONTAINER"'],
  ['docker-compose.example-network.yml', 'PAYMENT_SERVER_URL: "http://paychand-public:3002"', 'PAYMENT_SERVER_URL: "http://paychand-providers:3001"', 'environment PAYMENT_SERVER_URL'],
  ['docker-compose.example-network.yml', 'KEYSTORE: "/run/secrets/random-keystore"', 'KEYSTORE: "/run/secrets/consumer-keystore"', 'environment KEYSTORE'],
  ['docker-compose.example-network.yml', '      paychand-public: {condition: service_healthy}\n', '      paychan-public: {condition: service_healthy}\n', 'not a service here'],
  ['docker-compose.example-network.yml', '  paychand-public-data:\n', '', 'not declared'],
  ['docker-compose.integration-test.yml', '"-R", "test_api_|test_network_|e2e_"', '"-R", "test_api_"', 'compose runs "test_api_"'],
  // a URL inside a value of several words (paychan-proxy's --target) must name the service too
  ['docker-compose.example-network-proxy.yml', '"persistence http://persistence-proxy:8001', '"persistence http://127.0.0.1:8001', 'scenarios.json means'],
  ['Dockerfile.services', 'install -D -m 0755 build/src/proxy/paychan-proxy /opt/paychan/bin/paychan-proxy', 'true', 'does not install'],
  ['Dockerfile.paychand', 'EXPOSE 3000 3001 3002', 'EXPOSE 3000 3001', 'not EXPOSEd'],
  ['Dockerfile.services', 'EXPOSE 8001 8002 8003', 'EXPOSE 8001 8002 8003 8004', 'EXPOSE 8004'],
  ['Dockerfile.chain', '"--port", "8545"', '"--port", "8546"', '--port 8545'],
  ['Dockerfile.chain', 'FROM debian:12-slim', 'FROM alpine:3.20', 'not Debian 12'],
  ['Dockerfile.paychand', 'FROM debian:12-slim', 'FROM node:20-bookworm', 'runtime stage must be FROM debian:12-slim'],
  ['Dockerfile.services', 'install -D -m 0755 build/examples/network/public-service /opt/paychan/bin/public-service', 'true', 'does not install'],
  ['Dockerfile.services', 'ca-certificates curl python3 \\', 'ca-certificates curl python3 libcurl4-openssl-dev \\', 'runtime stage installs build packages'],
  ['Dockerfile.chain.dockerignore', '!deploy/chain-entrypoint.sh\n', '', 'keeps it out of the build context'],
  ['Dockerfile.tests.dockerignore', 'node_modules/\n', '', 'must keep node_modules/'],
  ['docker-compose.yml', '  start_period: 60s\n', '  start_period: 60s\n  start_interval: 1s\n', 'healthcheck.start_interval needs Docker Engine 25'],
  ['Dockerfile.services', 'useradd --system --uid 10001 --gid 10001', 'useradd --system --uid 10001', 'needs --gid 10001'],
  ['Dockerfile.chain', 'groupadd --system --gid 10001 paychan', 'groupadd --system paychan', 'no groupadd --gid 10001'],
  ['Dockerfile.services', 'CMD ["/bin/sh"', '# CMD ["/bin/sh"', 'sets no CMD or ENTRYPOINT'],
];

function mirror() {
  const root = mkdtempSync(path.join(tmpdir(), 'check-compose-'));
  const tracked = execFileSync('git', ['ls-files'], { cwd: REPO, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const top of new Set(tracked.map((f) => f.split('/')[0]))) {
    if (top !== 'deploy') symlinkSync(path.join(REPO, top), path.join(root, top));
  }
  symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
  cpSync(DEPLOY, path.join(root, 'deploy'), { recursive: true });
  return root;
}

function runCheck(root) {
  const r = spawnSync(process.execPath, [CHECK, '--root', root], { encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

const root = mirror();
let failures = 0;
try {
  const clean = runCheck(root);
  if (clean.status !== 0) {
    console.error(`the unchanged mirror must pass, but:\n${clean.output}`);
    failures++;
  }
  for (const [file, from, to, expected] of MUTATIONS) {
    const target = path.join(root, 'deploy', file);
    const original = readFileSync(target, 'utf8');
    if (!original.includes(from)) {
      console.error(`mutation not applicable (the file changed?): ${file}: ${JSON.stringify(from)}`);
      failures++;
      continue;
    }
    writeFileSync(target, original.replace(from, to));
    const r = runCheck(root);
    writeFileSync(target, original);
    const caught = r.status === 1 && r.output.includes(expected);
    console.log(`${caught ? 'caught' : 'MISSED'}: ${file}: ${JSON.stringify(from)} -> ${JSON.stringify(to)}`);
    if (!caught) {
      console.error(`  expected exit 1 and ${JSON.stringify(expected)}; got exit ${r.status}:\n${r.output}`);
      failures++;
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
if (failures) {
  console.error(`deploy/check-compose-selftest.mjs: ${failures} failure(s)`);
  process.exit(1);
}
console.log(`deploy/check-compose-selftest.mjs: all ${MUTATIONS.length} changes caught`);
