#!/usr/bin/env node
// scripts/scenario: runs one of the seed's scenarios natively on this machine,
// exactly as defined in deploy/scenarios.json (the compose files under deploy/
// are checked against the same definitions).
//
//   scripts/scenario <name>            start, print the URLs, stop everything on Ctrl-C
//   scripts/scenario <name> --detach   start and leave it running
//   scripts/scenario stop <name>       stop what a detached run started
//   scripts/scenario list              the scenarios
//
// Logs, PIDs and data of a scenario live in run/<name>/ (one <process>.log
// and <process>.pid each; Payment Server data in run/<name>/<process>/).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFS = JSON.parse(readFileSync(path.join(ROOT, 'deploy', 'scenarios.json'), 'utf8'));
const READY_MS = 20000;

function die(message) {
  console.error(`scenario: ${message}`);
  process.exit(1);
}

function usage() {
  console.log(`usage: scripts/scenario <name> [--detach] [--no-build]
       scripts/scenario stop <name>
       scripts/scenario list

Runs a scenario of the seed natively (no Docker), as defined in
deploy/scenarios.json. Builds what is missing first (CMake, build/).
Logs, PIDs and data go to run/<name>/.

scenarios:
${Object.entries(DEFS.scenarios).map(([n, s]) => `  ${n.padEnd(18)} ${s.description}`).join('\n')}`);
}

const runDir = (name) => path.join(ROOT, 'run', name);
const expand = (text, name) => text.replaceAll('${RUN}', `${runDir(name)}/`);

function build() {
  const cmake = (args) => {
    const r = spawnSync('cmake', args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) die(`cmake ${args.join(' ')} failed`);
  };
  cmake(['-S', '.', '-B', 'build', '-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DPAYCHAN_SANITIZE=OFF']);
  cmake(['--build', 'build', '-j', String(os.cpus().length || 2)]);
}

function portFree(port) {
  return new Promise((resolve) => {
    const probe = net.connect({ host: '127.0.0.1', port }, () => { probe.destroy(); resolve(false); });
    probe.on('error', () => resolve(true));
  });
}

async function waitListening(port, child, name) {
  const deadline = Date.now() + READY_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: see its log`);
    if (!(await portFree(port))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} does not listen on ${port} after ${READY_MS} ms`);
}

function startChain(name) {
  const r = spawnSync(path.join(ROOT, 'devnet', 'start.sh'),
    ['--port', String(DEFS.chain.port), '--chain-id', String(DEFS.chain.chainId), '--state-dir', path.join(runDir(name), 'chain')],
    { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) die('the dev chain did not start');
}

function stopChain(name) {
  const dir = path.join(runDir(name), 'chain');
  if (existsSync(path.join(dir, 'anvil.pid')))
    spawnSync(path.join(ROOT, 'devnet', 'stop.sh'), ['--state-dir', dir], { cwd: ROOT, stdio: 'inherit' });
}

async function startProcess(name, p) {
  const log = openSync(path.join(runDir(name), `${p.name}.log`), 'a');
  const [exe, ...args] = p.command.map((a) => expand(a, name));
  if (!existsSync(path.join(ROOT, exe))) throw new Error(`${exe} is missing (run without --no-build)`);
  const child = spawn(path.join(ROOT, exe), args, {
    cwd: ROOT, detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...(p.env ?? {}) },
  });
  child.on('error', (e) => console.error(`${p.name}: ${e.message}`));
  writeFileSync(path.join(runDir(name), `${p.name}.pid`), `${child.pid}\n`);
  child.unref();
  await waitListening(p.port, child, p.name);
  console.log(`  ${p.name.padEnd(20)} http://127.0.0.1:${p.port}   log run/${name}/${p.name}.log`);
}

function stopProcesses(name) {
  const dir = runDir(name);
  if (!existsSync(dir)) return;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.pid'))) {
    const pid = Number(readFileSync(path.join(dir, file), 'utf8'));
    try {
      process.kill(pid, 'SIGTERM');
      console.log(`  stopped ${file.replace(/\.pid$/, '')} (PID ${pid})`);
    } catch { /* already gone */ }
    rmSync(path.join(dir, file));
  }
}

function stop(name) {
  stopProcesses(name);
  stopChain(name);
}

async function start(name, { detach, noBuild }) {
  const s = DEFS.scenarios[name];
  if (s.run) { // integration tests: one command
    const [exe, ...args] = s.run;
    const r = spawnSync(path.join(ROOT, exe), args, { cwd: ROOT, stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
  for (const p of s.processes)
    if (!(await portFree(p.port))) die(`port ${p.port} (${p.name}) is in use: is the scenario already running? (scripts/scenario stop ${name})`);
  if (s.chain && !(await portFree(DEFS.chain.port))) die(`port ${DEFS.chain.port} (chain) is in use`);
  if (!noBuild) build();
  mkdirSync(runDir(name), { recursive: true });
  console.log(`scenario ${name}: ${s.description}`);
  try {
    if (s.chain) startChain(name);
    for (const p of s.processes) await startProcess(name, p);
  } catch (e) {
    stop(name);
    die(e.message);
  }
  if (detach) {
    console.log(`running; stop it with: scripts/scenario stop ${name}`);
    return;
  }
  console.log('running; Ctrl-C stops everything');
  await new Promise((resolve) => {
    process.on('SIGINT', resolve);
    process.on('SIGTERM', resolve);
  });
  stop(name);
}

const argv = process.argv.slice(2);
if (argv.length === 0 || argv.includes('-h') || argv.includes('--help')) {
  usage();
  process.exit(0);
}
if (argv[0] === 'list') {
  for (const [n, s] of Object.entries(DEFS.scenarios)) console.log(`${n.padEnd(18)} ${s.description}`);
} else if (argv[0] === 'stop') {
  if (!DEFS.scenarios[argv[1]]) die(`no scenario '${argv[1]}' (scripts/scenario list)`);
  stop(argv[1]);
} else {
  if (!DEFS.scenarios[argv[0]]) die(`no scenario '${argv[0]}' (scripts/scenario list)`);
  await start(argv[0], { detach: argv.includes('--detach'), noBuild: argv.includes('--no-build') });
}
