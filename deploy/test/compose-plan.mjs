#!/usr/bin/env node
// deploy/test/compose-plan.mjs: the start order of a compose file's services, for
// scripts/test-containers under podman-compose (which ignores depends_on conditions).
//   node deploy/test/compose-plan.mjs deploy/docker-compose.yml
// One line per service, dependencies first: NAME HOSTPORT|- HEALTHCHECK(0|1) WAITED_FOR(0|1)
// WAITED_FOR: another service depends on it with condition service_healthy.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

const file = process.argv[2];
if (!file) { console.error('usage: compose-plan.mjs COMPOSE_FILE'); process.exit(2); }
const services = YAML.parse(readFileSync(file, 'utf8'), { merge: true }).services;
const deps = (s) => {
  const d = services[s].depends_on ?? {};
  return Array.isArray(d) ? Object.fromEntries(d.map((n) => [n, 'service_started'])) : Object.fromEntries(Object.entries(d).map(([n, c]) => [n, c.condition]));
};
const waited = new Set(Object.keys(services).flatMap((s) => Object.entries(deps(s)).filter(([, c]) => c === 'service_healthy').map(([n]) => n)));
const order = [];
const visit = (s) => { if (order.includes(s)) return; Object.keys(deps(s)).forEach(visit); order.push(s); };
Object.keys(services).forEach(visit);
for (const s of order) {
  const port = (services[s].ports ?? [])[0]?.split(':')[0] ?? '-';
  console.log(`${s} ${port} ${services[s].healthcheck ? 1 : 0} ${waited.has(s) ? 1 : 0}`);
}
