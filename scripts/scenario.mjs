#!/usr/bin/env node
// scripts/scenario: runs one of the seed's scenarios natively on this machine,
// exactly as defined in deploy/scenarios.json (the compose files under deploy/
// are checked against the same definitions).
//
//   scripts/scenario <name>            start, print the URLs, stay until Ctrl-C or SIGTERM,
//                                      then stop everything (and wait until it is gone)
//   scripts/scenario <name> --detach   start and leave it running
//   scripts/scenario stop <name>       stop what a detached run started
//   scripts/scenario restart <name> <process>   start one process of a detached run again
//   scripts/scenario list              the scenarios
//
// Logs, PIDs and data of a scenario live in run/<name>/ (one <process>.log
// and <process>.pid each; Payment Server data in run/<name>/<process>/).
// --run-dir, --build-dir and --port-offset let a second copy run beside the
// first (the tests use them to run scenarios on free ports).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFS = JSON.parse(readFileSync(path.join(ROOT, 'deploy', 'scenarios.json'), 'utf8'));
const READY_MS = 20000;
const STOP_GRACE_MS = 15000;

function die(message) {
  console.error(`scenario: ${message}`);
  process.exit(1);
}

function usage() {
  console.log(`usage: scripts/scenario <name> [--detach] [--no-build] [OPTIONS]
       scripts/scenario stop <name> [--run-dir DIR]
       scripts/scenario restart <name> <process> [--run-dir DIR] [--port-offset N]
       scripts/scenario list

Runs a scenario of the seed natively (no Docker), as defined in
deploy/scenarios.json. Builds the programs it runs first (CMake, build/).
Logs, PIDs and data go to run/<name>/. Without --detach it stays in the
foreground until Ctrl-C or SIGTERM, then stops every process it started.

options:
  --run-dir DIR       logs, PIDs and data in DIR instead of run/<name>/
  --build-dir DIR     the programs from DIR instead of build/ (with --no-build: as they are)
  --port-offset N     every port of the scenario (chain included) plus N
  --build-only        build the scenario's programs and exit

scenarios:
${Object.entries(DEFS.scenarios).map(([n, s]) => `  ${n.padEnd(18)} ${s.description}`).join('\n')}`);
}

// Command-line options of a start or stop (see usage).
function optionValue(argv, name, fallback) {
  const i = argv.indexOf(name);
  if (i < 0) return fallback;
  if (i + 1 >= argv.length) die(`${name} needs a value`);
  return argv[i + 1];
}
const ARGV = process.argv.slice(2);
const OPTS = {
  runDir: optionValue(ARGV, '--run-dir', undefined),
  buildDir: optionValue(ARGV, '--build-dir', 'build'),
  portOffset: Number(optionValue(ARGV, '--port-offset', '0')),
};
if (!Number.isInteger(OPTS.portOffset) || OPTS.portOffset < 0 || OPTS.portOffset > 50000) die('--port-offset must be an integer from 0 to 50000');

const runDir = (name) => path.resolve(ROOT, OPTS.runDir ?? path.join('run', name));
const expand = (text, name) => text.replaceAll('${RUN}', `${runDir(name)}/`);
const chainPort = () => DEFS.chain.port + OPTS.portOffset;

/** The scenario with every port shifted by --port-offset: ports as values ("3000") and in local
 * URLs ("http://127.0.0.1:3001"), and the programs under --build-dir. */
function shifted(s) {
  const ports = new Set([DEFS.chain.port, ...(s.processes ?? []).map((p) => p.port)]);
  const shift = (text) => (ports.has(Number(text)) && /^\d+$/.test(text)
    ? String(Number(text) + OPTS.portOffset)
    : text.replace(/(127\.0\.0\.1|localhost):(\d+)/g, (m, host, port) => (ports.has(Number(port)) ? `${host}:${Number(port) + OPTS.portOffset}` : m)));
  const program = (exe) => (exe.startsWith('build/') ? path.join(OPTS.buildDir, exe.slice('build/'.length)) : exe);
  return {
    ...s,
    processes: (s.processes ?? []).map((p) => ({
      ...p,
      port: p.port + OPTS.portOffset,
      command: [program(p.command[0]), ...p.command.slice(1).map(shift)],
      env: Object.fromEntries(Object.entries(p.env ?? {}).map(([k, v]) => [k, shift(v)])),
    })),
  };
}

/** Builds only the programs the scenario runs (CMake target = file name), showing the progress:
 * a first build takes about a minute. */
function build(s) {
  // only the build directory's programs (shifted() put them there), not e.g. the Python services
  const under = (dir, exe) => !path.relative(path.resolve(ROOT, dir), path.resolve(ROOT, exe)).startsWith('..');
  const built = s.processes.filter((p) => under(OPTS.buildDir, p.command[0]));
  const targets = [...new Set(built.map((p) => path.basename(p.command[0])))];
  const cmake = (args) => {
    const r = spawnSync('cmake', args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) die(`cmake ${args.join(' ')} failed`);
  };
  if (!targets.length) return;
  console.log(`building ${targets.join(', ')} in ${OPTS.buildDir}/ (a first build takes about a minute)`);
  if (!existsSync(path.join(ROOT, OPTS.buildDir, 'CMakeCache.txt')))
    cmake(['-S', '.', '-B', OPTS.buildDir, '-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DPAYCHAN_SANITIZE=OFF']);
  cmake(['--build', OPTS.buildDir, '-j', String(os.cpus().length || 2), '--target', ...targets]);
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

/** Waits until GET readyPath on the process's port answers 2xx (its readiness: a Payment Server
 * with its node, store and keys; the balancer with an instance in rotation), so that "running"
 * means the scenario serves. Throws with the last answer after READY_MS. */
async function waitReady(port, readyPath, child, name) {
  const deadline = Date.now() + READY_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: see its log`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}${readyPath}`, { signal: AbortSignal.timeout(2000) });
      const body = (await r.text()).replace(/\s+/g, ' ').slice(0, 200);
      if (r.ok) return;
      last = `${r.status} ${body}`;
    } catch (e) {
      last = e.message;
    }
    await sleep(200);
  }
  throw new Error(`${name} is not ready after ${READY_MS} ms: GET ${readyPath} answered ${last}`);
}

function startChain(name) {
  const r = spawnSync(path.join(ROOT, 'devnet', 'start.sh'),
    ['--port', String(chainPort()), '--chain-id', String(DEFS.chain.chainId), '--state-dir', path.join(runDir(name), 'chain')],
    { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) die('the dev chain did not start');
}

function stopChain(name) {
  const dir = path.join(runDir(name), 'chain');
  if (existsSync(path.join(dir, 'anvil.pid')))
    spawnSync(path.join(ROOT, 'devnet', 'stop.sh'), ['--state-dir', dir], { cwd: ROOT, stdio: 'inherit' });
}

/** A command's program: a repository path, or a bare name looked up on the PATH (Debian's
 * redis-server, haproxy, ...: scripts/install-deps.sh installs them). */
function programPath(exe) {
  if (!exe.includes('/')) {
    const dir = (process.env.PATH ?? '').split(':').find((d) => d && existsSync(path.join(d, exe)));
    if (!dir) throw new Error(`${exe} is not on the PATH (scripts/install-deps.sh installs it)`);
    return path.join(dir, exe);
  }
  const program = path.resolve(ROOT, exe);
  if (!existsSync(program)) throw new Error(`${exe} is missing (run without --no-build)`);
  return program;
}

// The processes started by this run (foreground: watched until the stop).
const started = [];

// Each process gets its own process group (detached), so a terminal's Ctrl-C reaches only this
// runner, which then stops them in order; unref'd so that a --detach run can exit.
async function startProcess(name, p) {
  const log = openSync(path.join(runDir(name), `${p.name}.log`), 'a');
  const [exe, ...args] = p.command.map((a) => expand(a, name));
  const program = programPath(exe);
  const child = spawn(program, args, {
    cwd: ROOT, detached: true, stdio: ['ignore', log, log], env: { ...process.env, ...(p.env ?? {}) },
  });
  child.on('error', (e) => console.error(`${p.name}: ${e.message}`));
  writeFileSync(path.join(runDir(name), `${p.name}.pid`), `${child.pid}\n`);
  child.unref();
  started.push({ name: p.name, child });
  await waitListening(p.port, child, p.name);
  if (p.ready) await waitReady(p.port, p.ready, child, p.name);
  const where = /redis/.test(path.basename(program)) ? `redis://127.0.0.1:${p.port}` : `http://127.0.0.1:${p.port}`;
  console.log(`  ${p.name.padEnd(20)} ${where.padEnd(24)} log ${shortPath(path.join(runDir(name), `${p.name}.log`))}`);
}

const shortPath = (p) => (p.startsWith(`${ROOT}/`) ? path.relative(ROOT, p) : p);
/** A process that exited is gone even while it waits to be reaped (a zombie): after a detached
 * run its parent is init, which may reap it only seconds later. */
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; /* no /proc: kill(0) is all there is */
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The run's PID files, latest started first: a process is stopped while what it calls still
 * runs (a sidecar gives its spare tokens back to its Payment Server at shutdown). Files of
 * processes the scenario does not list come first. */
function pidFilesLatestFirst(name, dir) {
  const order = (DEFS.scenarios[name]?.processes ?? []).map((p) => p.name);
  const rank = (file) => order.indexOf(file.replace(/\.pid$/, ''));
  return readdirSync(dir).filter((f) => f.endsWith('.pid')).sort((a, b) => rank(b) - rank(a));
}

/** SIGTERM to each process of the run's PID files in turn, latest started first, waiting until
 * it is gone (SIGKILL after STOP_GRACE_MS), so that a stop returns only when nothing of the
 * scenario is left. */
async function stopProcesses(name) {
  const dir = runDir(name);
  if (!existsSync(dir)) return;
  for (const file of pidFilesLatestFirst(name, dir)) {
    const pid = Number(readFileSync(path.join(dir, file), 'utf8'));
    const what = file.replace(/\.pid$/, '');
    try {
      process.kill(pid, 'SIGTERM');
    } catch { /* already gone */
      rmSync(path.join(dir, file), { force: true });
      continue;
    }
    const deadline = Date.now() + STOP_GRACE_MS;
    while (alive(pid) && Date.now() < deadline) await sleep(50);
    if (alive(pid)) {
      console.error(`  ${what} (PID ${pid}) ignored SIGTERM for ${STOP_GRACE_MS} ms: SIGKILL`);
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
    }
    console.log(`  stopped ${what} (PID ${pid})`);
    rmSync(path.join(dir, `${what}.pid`), { force: true });
  }
}

async function stop(name) {
  await stopProcesses(name);
  stopChain(name);
}

// SIGINT/SIGTERM from the start on: a Ctrl-C while the scenario starts stops what already runs.
let stopSignal = null;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stopSignal ??= sig; });

/** Foreground: stays until SIGINT or SIGTERM (or until a process dies), then stops everything.
 * The polling timer keeps Node's event loop alive: signal handlers alone do not, and an awaited
 * promise with nothing left to run ends Node at once with exit code 13 (the old behaviour). */
async function stayInForeground(name) {
  let died;
  for (const { name: what, child } of started) child.on('exit', (code, sig) => { died ??= `${what} exited (${sig ?? code})`; });
  while (!stopSignal && !died) await sleep(200);
  console.log(`${stopSignal ?? died}: stopping scenario ${name}`);
  await stop(name);
  process.exit(stopSignal ? 0 : 1);
}

/** Starts one process of a detached run again (after it died or was killed), as the scenario
 * defines it: e.g. one paychand instance of example-network-ha. Stops it first if it runs. */
async function restart(name, processName) {
  const p = shifted(DEFS.scenarios[name]).processes?.find((q) => q.name === processName);
  if (!p) die(`scenario ${name} has no process '${processName}'`);
  const pidFile = path.join(runDir(name), `${p.name}.pid`);
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (alive(pid)) process.kill(pid, 'SIGTERM');
    while (alive(pid)) await sleep(50);
  }
  try {
    await startProcess(name, p);
  } catch (e) {
    die(e.message);
  }
}

async function start(name, { detach, noBuild, buildOnly }) {
  const s = shifted(DEFS.scenarios[name]);
  if (s.run) { // integration tests: one command
    const [exe, ...args] = s.run;
    const r = spawnSync(path.join(ROOT, exe), args, { cwd: ROOT, stdio: 'inherit' });
    process.exit(r.status ?? 1);
  }
  for (const p of buildOnly ? [] : s.processes)
    if (!(await portFree(p.port))) die(`port ${p.port} (${p.name}) is in use: is the scenario already running? (scripts/scenario stop ${name})`);
  if (s.chain && !buildOnly && !(await portFree(chainPort()))) die(`port ${chainPort()} (chain) is in use`);
  if (!noBuild) build(s);
  if (buildOnly) return;
  // A scenario that owns its dev chain starts a fresh chain, so the Payment Servers' data of an
  // earlier run would name Mediators that do not exist on it (paychand refuses a store recorded on
  // another chain): start clean. The ports were free, so nothing of an earlier run is running.
  if (s.chain && existsSync(runDir(name))) {
    rmSync(runDir(name), { recursive: true, force: true });
    console.log(`fresh dev chain: removed the earlier run's data in ${shortPath(runDir(name))}`);
  }
  mkdirSync(runDir(name), { recursive: true });
  console.log(`scenario ${name}: ${s.description}`);
  try {
    if (s.chain) startChain(name);
    for (const p of s.processes) {
      if (stopSignal) throw new Error(`${stopSignal} while starting`);
      await startProcess(name, p);
    }
  } catch (e) {
    await stop(name);
    die(e.message);
  }
  if (detach) {
    console.log(`running; stop it with: scripts/scenario stop ${name}`);
    return;
  }
  console.log('running; Ctrl-C (or SIGTERM) stops everything');
  await stayInForeground(name);
}

const argv = ARGV;
if (argv.length === 0 || argv.includes('-h') || argv.includes('--help')) {
  usage();
  process.exit(0);
}
if (argv[0] === 'list') {
  for (const [n, s] of Object.entries(DEFS.scenarios)) console.log(`${n.padEnd(18)} ${s.description}`);
} else if (argv[0] === 'restart') {
  if (!DEFS.scenarios[argv[1]]) die(`no scenario '${argv[1]}' (scripts/scenario list)`);
  await restart(argv[1], argv[2]);
} else if (argv[0] === 'stop') {
  if (!DEFS.scenarios[argv[1]]) die(`no scenario '${argv[1]}' (scripts/scenario list)`);
  await stop(argv[1]);
} else {
  if (!DEFS.scenarios[argv[0]]) die(`no scenario '${argv[0]}' (scripts/scenario list)`);
  await start(argv[0], { detach: argv.includes('--detach'), noBuild: argv.includes('--no-build'), buildOnly: argv.includes('--build-only') });
}
