#!/usr/bin/env node
// deploy/check-compose.mjs: checks the container files of deploy/ without a Docker engine.
//
//   node deploy/check-compose.mjs              exit 0 when everything holds, 1 with one line per problem
//   node deploy/check-compose.mjs --root DIR   check DIR/deploy against DIR (the self-test's mirrors)
//
// 1. Each docker-compose*.yml parses as YAML and has the compose essentials: services with build
//    and/or image, ports as "HOST:CONTAINER" strings, commands as arrays, environment as maps,
//    depends_on naming existing services (no cycles), named volumes declared, health checks well formed.
// 2. Each compose file runs what deploy/scenarios.json (the one definition the native runner
//    scripts/scenario uses too) says: the same services, the same executable, options and values,
//    the same environment, the same published port, the readiness path as health check, and a
//    depends_on for every service it calls. The only differences allowed are those of running in
//    containers (CONTAINER_VIEW below): 127.0.0.1/localhost URLs name the service listening on that
//    port, a bare 127.0.0.1 listen address becomes 0.0.0.0, build/... and repo paths become the
//    image's paths, ${RUN} becomes the data volume, the dev keys (devnet/dev-only/...) become
//    compose secrets (/run/secrets/<name>, declared with that file and listed by the service), and
//    every readiness probe is /ready (the chain keeps its state on a named volume too).
// 3. Each Dockerfile: Debian 12 based, multi-stage with a slim runtime stage holding no -dev packages
//    (all but the tests image), ENTRYPOINT/CMD in exec form, EXPOSE exactly the container ports
//    compose uses, the executables compose runs installed by it, and everything it copies from the
//    build context let through by its <Dockerfile>.dockerignore.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function rootArgument() {
  const args = process.argv.slice(2);
  if (!args.length) return path.dirname(path.dirname(fileURLToPath(import.meta.url)));
  if (args.length === 2 && args[0] === '--root') return path.resolve(args[1]);
  console.error('usage: node deploy/check-compose.mjs [--root DIR]');
  process.exit(2);
}
const REPO = rootArgument();
const DEPLOY = path.join(REPO, 'deploy');

// How the native scenarios look from inside the containers (README "Image layout").
const CONTAINER_VIEW = {
  prefix: '/opt/paychan',          // repo path P -> /opt/paychan/P; build/.../NAME -> /opt/paychan/bin/NAME
  dataDir: '/var/lib/paychan',     // ${RUN} -> /var/lib/paychan/ (a named volume)
  listenAny: '0.0.0.0',            // 127.0.0.1 as a listen address -> 0.0.0.0
  chainService: 'chain',           // the dev chain's service name
  chainState: '/var/lib/paychan-chain', // the chain's state (anvil --state), a named volume
  chainSecret: 'dev-mnemonic',     // the dev mnemonic, read by chain-entrypoint.sh
  keysDir: 'devnet/dev-only/',     // repo paths of keys -> /run/secrets/<secret whose file it is>
  secretsDir: '/run/secrets',
  readyPath: '/ready',             // a process with a `ready` path is probed on /ready in containers
  // Debian 12 bases: Debian's own, and the Node.js project's bookworm images (Node.js 20, which the
  // lock file's anvil wants) for the stages that run npm.
  debianImages: ['debian:12', 'debian:12-slim', 'node:20-bookworm', 'node:20-bookworm-slim'],
  runtimeImage: 'debian:12-slim',
};

const problems = [];
function problem(where, message) {
  problems.push(`${where}: ${message}`);
}

async function loadYamlModule() {
  try {
    return await import('yaml');
  } catch {
    console.error('deploy/check-compose.mjs: the npm package "yaml" is missing; run scripts/install-deps.sh (npm ci)');
    process.exit(2);
  }
}

const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStringArray = (v) => Array.isArray(v) && v.every((x) => typeof x === 'string');
const show = (v) => JSON.stringify(v);

// ---------------------------------------------------------------------------------------------
// Compose files: parse and check the structure (the parts of the compose spec we rely on).

const TOP_KEYS = new Set(['name', 'services', 'volumes', 'networks', 'configs', 'secrets']);
const SERVICE_KEYS = new Set(['build', 'image', 'command', 'entrypoint', 'environment', 'ports', 'depends_on',
  'volumes', 'healthcheck', 'init', 'cap_add', 'restart', 'working_dir', 'user', 'networks', 'expose',
  'stop_grace_period', 'stop_signal', 'logging', 'labels', 'shm_size', 'secrets']);
const HEALTH_KEYS = new Set(['test', 'interval', 'timeout', 'retries', 'start_period', 'disable']);
// Keys that exist in the compose spec but that Compose v2 refuses on engines older than README's
// minimum (Docker Engine 23): the key, and the engine that first accepts it.
const HEALTH_KEYS_TOO_NEW = { start_interval: 'Docker Engine 25' };
const CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);
const DURATION = /^(\d+(\.\d+)?(us|ms|s|m|h))+$/;

function parseCompose(yaml, file) {
  const text = readFileSync(path.join(DEPLOY, file), 'utf8');
  const doc = yaml.parseDocument(text, { merge: true, uniqueKeys: true });
  for (const e of doc.errors) problem(file, `YAML error: ${e.message}`);
  if (doc.errors.length) return null;
  for (const w of doc.warnings) problem(file, `YAML warning: ${w.message}`);
  return doc.toJS({ maxAliasCount: 100 });
}

// Every string in a compose file is interpolated by compose: a lone '$' would be replaced.
function checkNoInterpolation(value, where) {
  if (typeof value === 'string') {
    if (/\$(?!\$)/.test(value.replace(/\$\$/g, ''))) problem(where, `"${value}" contains '$' (compose interpolates it; write $$)`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkNoInterpolation(v, `${where}[${i}]`));
  } else if (isMap(value)) {
    for (const [k, v] of Object.entries(value)) checkNoInterpolation(v, `${where}.${k}`);
  }
}

function checkBuild(build, where) {
  if (typeof build === 'string') build = { context: build };
  if (!isMap(build) || typeof build.context !== 'string') return problem(where, 'build needs a context');
  const context = path.resolve(DEPLOY, build.context);
  if (!existsSync(context) || !statSync(context).isDirectory()) return problem(where, `build context ${build.context} is not a directory`);
  const dockerfile = path.resolve(context, build.dockerfile ?? 'Dockerfile');
  if (!existsSync(dockerfile)) problem(where, `Dockerfile ${build.dockerfile} not found in ${build.context}`);
  return { context, dockerfile };
}

function checkPorts(ports, where) {
  if (ports === undefined) return;
  if (!Array.isArray(ports)) return problem(where, 'ports must be a list');
  for (const p of ports) {
    const m = typeof p === 'string' && /^(\d{1,5}):(\d{1,5})$/.exec(p);
    if (!m) problem(where, `port ${show(p)} is not a quoted "HOST:CONTAINER" string`);
    else if ([m[1], m[2]].some((n) => +n < 1 || +n > 65535)) problem(where, `port ${p} out of range`);
  }
}

function checkEnvironment(env, where) {
  if (env === undefined) return;
  if (!isMap(env)) return problem(where, 'environment must be a map (KEY: "value")');
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) problem(where, `environment name ${show(k)} is not valid`);
    if (!['string', 'number', 'boolean'].includes(typeof v)) problem(where, `environment ${k} must be a scalar`);
  }
}

function dependsOnMap(dependsOn, where) {
  if (dependsOn === undefined) return {};
  if (isStringArray(dependsOn)) return Object.fromEntries(dependsOn.map((n) => [n, 'service_started']));
  if (!isMap(dependsOn)) return problem(where, 'depends_on must be a list or a map') ?? {};
  const out = {};
  for (const [name, spec] of Object.entries(dependsOn)) {
    const condition = isMap(spec) ? spec.condition ?? 'service_started' : undefined;
    if (!CONDITIONS.has(condition)) problem(where, `depends_on ${name}: condition ${show(condition)} is not one of ${[...CONDITIONS]}`);
    out[name] = condition;
  }
  return out;
}

function checkHealthcheck(hc, where) {
  if (hc === undefined) return;
  if (!isMap(hc)) return problem(where, 'healthcheck must be a map');
  for (const k of Object.keys(hc)) {
    if (HEALTH_KEYS_TOO_NEW[k]) problem(where, `healthcheck.${k} needs ${HEALTH_KEYS_TOO_NEW[k]}+ (deploy/README.md promises Engine 23+)`);
    else if (!HEALTH_KEYS.has(k)) problem(where, `healthcheck key ${k} is not in the compose spec`);
  }
  if (!isStringArray(hc.test) || !['CMD', 'CMD-SHELL', 'NONE'].includes(hc.test[0])) {
    problem(where, 'healthcheck.test must be a list starting with CMD, CMD-SHELL or NONE');
  }
  for (const k of ['interval', 'timeout', 'start_period']) {
    if (hc[k] !== undefined && !(typeof hc[k] === 'string' && DURATION.test(hc[k]))) problem(where, `healthcheck.${k} ${show(hc[k])} is not a duration`);
  }
  if (hc.retries !== undefined && !Number.isInteger(hc.retries)) problem(where, 'healthcheck.retries must be an integer');
}

function checkVolumes(volumes, declared, where) {
  if (volumes === undefined) return;
  if (!isStringArray(volumes)) return problem(where, 'volumes must be a list of "SOURCE:TARGET[:ro]" strings');
  for (const v of volumes) {
    const [source, target, mode, ...rest] = v.split(':');
    if (!target || !target.startsWith('/') || rest.length || (mode && !['ro', 'rw'].includes(mode))) problem(where, `volume ${show(v)} is not SOURCE:/TARGET[:ro|rw]`);
    else if (!/^[./~]/.test(source) && !declared.has(source)) problem(where, `volume ${source} is not declared under the top-level volumes`);
  }
}

// Depth-first search for a depends_on cycle.
function checkNoCycle(deps, file) {
  const state = {};
  const visit = (name, trail) => {
    if (state[name] === 'done') return;
    if (state[name] === 'open') return problem(file, `depends_on cycle: ${[...trail, name].join(' -> ')}`);
    state[name] = 'open';
    for (const next of Object.keys(deps[name] ?? {})) visit(next, [...trail, name]);
    state[name] = 'done';
  };
  for (const name of Object.keys(deps)) visit(name, []);
}

/** Top-level secrets: each a file of the repository; returns repo path -> secret name. */
function checkSecretsDeclared(secrets, file) {
  const byPath = new Map();
  for (const [name, sec] of Object.entries(secrets ?? {})) {
    if (!isMap(sec) || typeof sec.file !== 'string') { problem(file, `secret ${name} must be {file: PATH}`); continue; }
    const rel = path.posix.normalize(path.posix.join('deploy', sec.file));
    if (!existsSync(path.join(REPO, rel))) problem(file, `secret ${name}: ${sec.file} does not exist`);
    byPath.set(rel, name);
  }
  return byPath;
}

/** Checks one parsed compose file's structure; returns {services: {name: {raw, build, deps}}, secretOf}. */
function checkComposeStructure(compose, file) {
  if (!isMap(compose)) return problem(file, 'is not a YAML map');
  for (const k of Object.keys(compose)) if (!TOP_KEYS.has(k) && !k.startsWith('x-')) problem(file, `top-level key ${k} is not in the compose spec`);
  if (!isMap(compose.services) || !Object.keys(compose.services).length) return problem(file, 'has no services');
  checkNoInterpolation(compose.services, `${file}: services`);
  const declared = new Set(Object.keys(compose.volumes ?? {}));
  const secretByPath = checkSecretsDeclared(compose.secrets, file);
  const services = {};
  for (const [name, svc] of Object.entries(compose.services)) {
    const where = `${file}: service ${name}`;
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(name)) problem(where, 'service names must be lower-case letters, digits, _ . -');
    if (!isMap(svc)) { problem(where, 'is not a map'); continue; }
    for (const k of Object.keys(svc)) if (!SERVICE_KEYS.has(k)) problem(where, `key ${k} is not one this check knows (compose spec essentials)`);
    if (svc.build === undefined && svc.image === undefined) problem(where, 'needs build or image');
    if (svc.image !== undefined && typeof svc.image !== 'string') problem(where, 'image must be a string');
    const build = svc.build !== undefined ? checkBuild(svc.build, where) : undefined;
    for (const k of ['command', 'entrypoint']) {
      if (svc[k] !== undefined && !isStringArray(svc[k])) problem(where, `${k} must be a list of strings (exec form)`);
    }
    checkPorts(svc.ports, where);
    checkEnvironment(svc.environment, where);
    checkHealthcheck(svc.healthcheck, where);
    checkVolumes(svc.volumes, declared, where);
    if (svc.secrets !== undefined && !isStringArray(svc.secrets)) problem(where, 'secrets must be a list of names');
    for (const n of svc.secrets ?? []) if (!Object.hasOwn(compose.secrets ?? {}, n)) problem(where, `secret ${n} is not declared under the top-level secrets`);
    if (svc.init !== undefined && typeof svc.init !== 'boolean') problem(where, 'init must be true or false');
    services[name] = { raw: svc, build, deps: dependsOnMap(svc.depends_on, where) };
  }
  for (const [name, s] of Object.entries(services)) {
    for (const [dep, condition] of Object.entries(s.deps)) {
      if (!services[dep]) problem(`${file}: service ${name}`, `depends_on names ${dep}, which is not a service here`);
      else if (dep === name) problem(`${file}: service ${name}`, 'depends on itself');
      else if (condition === 'service_healthy' && !services[dep].raw.healthcheck) problem(`${file}: service ${name}`, `waits for ${dep} to be healthy, which has no healthcheck`);
    }
  }
  checkNoCycle(Object.fromEntries(Object.entries(services).map(([n, s]) => [n, s.deps])), file);
  // Services sharing an image tag must build it the same way, or the last build wins.
  const byImage = {};
  for (const [name, s] of Object.entries(services)) {
    if (!s.raw.image || !s.build) continue;
    const other = byImage[s.raw.image];
    if (other && other.build.dockerfile !== s.build.dockerfile) problem(file, `services ${other.name} and ${name} build image ${s.raw.image} from different Dockerfiles`);
    byImage[s.raw.image] ??= { name, build: s.build };
  }
  return { services, secretOf: (rel) => secretByPath.get(rel) };
}

// ---------------------------------------------------------------------------------------------
// Dockerfiles and their ignore files.

/** Instructions of a Dockerfile, joined over line continuations, grouped by stage. */
function parseDockerfile(file) {
  const text = readFileSync(file, 'utf8');
  const logical = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (!current && /^\s*(#|$)/.test(line)) continue;
    if (/^\s*#/.test(line)) continue; // comment lines inside a continued instruction
    current += line.replace(/\\\s*$/, ' ');
    if (!/\\\s*$/.test(line)) { logical.push(current.trim()); current = ''; }
  }
  if (current) logical.push(current.trim());
  const stages = [];
  for (const line of logical) {
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(line);
    const instr = { op: op.toUpperCase(), args };
    if (instr.op === 'FROM') {
      const [, image, alias] = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args) ?? [];
      stages.push({ image, alias, instrs: [] });
    } else if (stages.length) {
      stages[stages.length - 1].instrs.push(instr);
    }
  }
  // What the build does, without comments: RUN and COPY lines are where files get installed.
  const installs = stages.flatMap((s) => s.instrs).filter((i) => ['RUN', 'COPY', 'ADD'].includes(i.op)).map((i) => i.args).join('\n');
  return { file, text, stages, installs };
}

function execForm(instr, where) {
  if (!instr) return undefined;
  try {
    const v = JSON.parse(instr.args);
    if (isStringArray(v)) return v;
  } catch { /* reported below */ }
  problem(where, `${instr.op} must be in exec form (a JSON list of strings): ${instr.args}`);
  return undefined;
}

/** The final stage's EXPOSE ports, ENTRYPOINT, CMD and WORKDIR-of-`COPY . .`. */
function imageFacts(df) {
  const where = path.relative(REPO, df.file);
  const final = df.stages[df.stages.length - 1];
  const last = (op) => final.instrs.filter((i) => i.op === op).pop();
  const expose = new Set(final.instrs.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => p.replace(/\/tcp$/, '')));
  let workdir = '/';
  let contextRoot; // where `COPY . .` put the whole build context, if it did
  for (const i of final.instrs) {
    if (i.op === 'WORKDIR') workdir = path.posix.resolve(workdir, i.args);
    if (i.op === 'COPY' && /^\.\s+\.\/?$/.test(i.args)) contextRoot = workdir;
  }
  return { where, expose, entrypoint: execForm(last('ENTRYPOINT'), where), cmd: execForm(last('CMD'), where), contextRoot };
}

function checkDockerfileShape(df) {
  const where = path.relative(REPO, df.file);
  if (!df.stages.length) return problem(where, 'has no FROM');
  const aliases = new Set();
  for (const s of df.stages) {
    if (!CONTAINER_VIEW.debianImages.includes(s.image) && !aliases.has(s.image)) problem(where, `FROM ${s.image}: not Debian 12 (${CONTAINER_VIEW.debianImages.join(', ')})`);
    if (s.alias) aliases.add(s.alias);
  }
  checkUsers(df, where);
  const tests = /Dockerfile\.tests$/.test(df.file);
  if (tests) return; // one stage on purpose: running the tests needs the toolchain
  const final = df.stages[df.stages.length - 1];
  // An image that only installs Debian packages and copies files (HAProxy, Redis) has no build
  // output to separate from its tools: one stage is right there.
  const builds = df.stages.some((s) => s.instrs.some((i) => i.op === 'RUN' && /\b(cmake|make|npm|gcc|cc)\b/.test(i.args)));
  if (df.stages.length < 2 && builds) problem(where, 'must be multi-stage (a build stage and a runtime stage)');
  if (final.image !== CONTAINER_VIEW.runtimeImage) problem(where, `runtime stage must be FROM ${CONTAINER_VIEW.runtimeImage}, is ${final.image}`);
  for (const i of final.instrs) {
    if (i.op === 'RUN' && /apt-get\s+install/.test(i.args)) {
      const dev = i.args.split(/\s+/).filter((w) => /-dev$/.test(w) || ['build-essential', 'cmake', 'gcc'].includes(w));
      if (dev.length) problem(where, `runtime stage installs build packages: ${dev.join(' ')}`);
    }
  }
  // A runtime image says what it runs: without its own CMD or ENTRYPOINT it would inherit the base
  // image's (debian's CMD ["bash"]), whatever a comment claims.
  if (!final.instrs.some((i) => i.op === 'CMD' || i.op === 'ENTRYPOINT')) problem(where, `the runtime stage sets no CMD or ENTRYPOINT, so it inherits ${final.image}'s (bash)`);
}

// `useradd --system --uid N` alone puts the user in a new group with a system gid (999 on Debian),
// not N: every useradd with a uid must name a group created with the same gid.
function checkUsers(df, where) {
  for (const run of df.stages.flatMap((s) => s.instrs).filter((i) => i.op === 'RUN')) {
    for (const cmd of run.args.split(/&&|;/)) {
      const uid = /\buseradd\b.*--uid[ =](\d+)/.exec(cmd)?.[1];
      if (!uid) continue;
      const gid = /--gid[ =](\d+)/.exec(cmd)?.[1];
      if (gid !== uid) problem(where, `useradd --uid ${uid} needs --gid ${uid} (else the group gets a system gid such as 999)`);
      else if (!new RegExp(`\\bgroupadd\\b[^&;]*--gid[ =]${gid}\\b`).test(run.args)) problem(where, `useradd --gid ${gid}, but no groupadd --gid ${gid} before it`);
    }
  }
}

// .dockerignore semantics (moby patternmatcher): the last pattern matching the path or one of its
// parent directories decides; '!' patterns re-include.
function loadIgnore(dockerfile) {
  const file = `${dockerfile}.dockerignore`;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => {
    const exclude = !l.startsWith('!');
    const pattern = path.posix.normalize(l.replace(/^!/, '').replace(/^\/+/, '')).replace(/\/+$/, '');
    const re = pattern.split('/').map((seg) => seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('/');
    return { exclude, re: new RegExp(`^${re.replace(/\.\*\//g, '(.*/)?')}$`) };
  });
}

function ignored(rules, relPath) {
  const parts = relPath.split('/');
  let excluded = false;
  for (const r of rules) {
    for (let n = 1; n <= parts.length; n++) {
      if (r.re.test(parts.slice(0, n).join('/'))) { excluded = r.exclude; break; }
    }
  }
  return excluded;
}

// Source paths (tracked or new, not git-ignored): a RUN line naming one needs it in the context;
// generated ones (build/..., visualizer/vendor) are made inside the image.
let sourcePaths;
function isSourcePath(rel) {
  if (!sourcePaths) {
    sourcePaths = new Set();
    // The git work tree that holds CMakeLists.txt (a mirror's is a symbolic link into it).
    const gitDir = path.dirname(realpathSync(path.join(REPO, 'CMakeLists.txt')));
    const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: gitDir, encoding: 'utf8' });
    for (const f of out.split('\n').filter(Boolean)) {
      f.split('/').forEach((_, i, a) => sourcePaths.add(a.slice(0, i + 1).join('/')));
    }
  }
  return sourcePaths.has(rel);
}

/** Repo paths the build needs must pass the ignore file; build output and node_modules must not. */
function checkContext(df) {
  const where = path.relative(REPO, df.file);
  const rules = loadIgnore(df.file);
  const needed = new Set();
  for (const s of df.stages) {
    for (const i of s.instrs) {
      if (i.op === 'COPY' && !/--from=/.test(i.args)) {
        const words = i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
        words.slice(0, -1).filter((w) => w !== '.').forEach((w) => needed.add(w.replace(/\/+$/, '')));
      }
      if (i.op === 'RUN') {
        for (const w of i.args.split(/[\s"'$()]+/)) {
          const rel = w.replace(/\/+$/, '');
          if (rel && !rel.startsWith('/') && !rel.startsWith('-') && rel.includes('/') && isSourcePath(rel)) needed.add(rel);
        }
      }
    }
  }
  if (df.stages.some((s) => s.instrs.some((i) => i.op === 'RUN' && /cmake\s+-S/.test(i.args)))) {
    needed.add('CMakeLists.txt');
    const top = readFileSync(path.join(REPO, 'CMakeLists.txt'), 'utf8');
    for (const [, dir] of top.matchAll(/add_subdirectory\(\s*([^\s)]+)/g)) needed.add(`${dir}/CMakeLists.txt`);
    needed.add('contracts/artifacts/Mediator.json');
  }
  for (const p of needed) {
    if (!existsSync(path.join(REPO, p))) problem(where, `copies ${p}, which is not in the repository`);
    else if (ignored(rules, p)) problem(where, `needs ${p}, but ${path.basename(df.file)}.dockerignore keeps it out of the build context`);
  }
  // Keys are mounted, never baked in; only the tests image holds the tree (and its public dev keys).
  if (!/Dockerfile\.tests$/.test(df.file) && !ignored(rules, CONTAINER_VIEW.keysDir.slice(0, -1))) {
    problem(where, `${path.basename(df.file)}.dockerignore must keep ${CONTAINER_VIEW.keysDir} out (keys are mounted as secrets)`);
  }
  for (const p of ['node_modules', 'build', 'build-x', '.git', 'run']) {
    if (!ignored(rules, p)) problem(where, `${path.basename(df.file)}.dockerignore must keep ${p}/ out of the build context (size, stale output)`);
  }
}

// ---------------------------------------------------------------------------------------------
// scenarios.json -> what each container must run.

/** Maps one scenario token to its container form; `hostOf(port)` names the service on a port,
 *  `secretOf(repoPath)` the secret holding a key file. `next` is the token after it: a local
 *  address followed by a port of the scenario names that service (Redis's `--replicaof HOST
 *  PORT`, Sentinel's `monitor NAME HOST PORT QUORUM`); else it is a listen address. Local
 *  HOST:PORT tokens and comma lists of them (--redis-sentinels, HAProxy's servers) name services too. */
function containerToken(token, hostOf, where, secretOf, next) {
  // a value of several words (paychan-proxy's --target 'NAME URL ...'): each word on its own
  if (/\s/.test(token)) {
    const words = token.split(' ');
    return words.map((w, i) => containerToken(w, hostOf, where, secretOf, words[i + 1])).join(' ');
  }
  if (token.startsWith('${RUN}')) return `${CONTAINER_VIEW.dataDir}/${token.slice('${RUN}'.length)}`;
  const local = (host) => host === '127.0.0.1' || host === 'localhost';
  const service = (port) => hostOf(+port) ?? (problem(where, `${token}: no service of this scenario listens on port ${port}`), '?');
  if (local(token) && /^\d+$/.test(next ?? '') && hostOf(+next)) return hostOf(+next);
  if (local(token)) return CONTAINER_VIEW.listenAny;
  if (/^(?:(?:127\.0\.0\.1|localhost):\d+,)*(?:127\.0\.0\.1|localhost):\d+$/.test(token)) {
    return token.split(',').map((hp) => `${service(hp.split(':')[1])}:${hp.split(':')[1]}`).join(',');
  }
  const url = /^(https?):\/\/(?:127\.0\.0\.1|localhost):(\d+)(\/.*)?$/.exec(token);
  if (url) {
    const host = hostOf(+url[2]);
    if (!host) problem(where, `URL ${token}: no service of this scenario listens on port ${url[2]}`);
    return `${url[1]}://${host ?? '?'}:${url[2]}${url[3] ?? ''}`;
  }
  if (/^[a-z]+:\/\//i.test(token)) return token;
  return token.split(':').map((p) => containerPath(p, secretOf, where)).join(':'); // KEYSTORE:PASSWORDFILE
}

function containerPath(p, secretOf, where) {
  if (p.startsWith('build/')) return `${CONTAINER_VIEW.prefix}/bin/${path.posix.basename(p)}`;
  if (p.startsWith(CONTAINER_VIEW.keysDir)) {
    const name = secretOf?.(p);
    if (!name) problem(where, `key file ${p}: no compose secret has this file (keys are mounted, not baked into images)`);
    return `${CONTAINER_VIEW.secretsDir}/${name ?? '?'}`;
  }
  const first = p.split('/')[0];
  if (first && !first.startsWith('.') && existsSync(path.join(REPO, first)) && existsSync(path.join(REPO, p))) return `${CONTAINER_VIEW.prefix}/${p}`;
  return p;
}

function compareArgv(expected, actual, where) {
  if (show(expected) === show(actual)) return;
  if (expected.length === actual.length) {
    expected.forEach((e, i) => {
      if (e !== actual[i]) problem(where, `argument ${i}${i ? ` (after ${show(actual[i - 1])})` : ' (the executable)'}: scenarios.json means ${show(e)}, compose runs ${show(actual[i])}`);
    });
    return;
  }
  const missing = expected.filter((e) => !actual.includes(e));
  const extra = actual.filter((a) => !expected.includes(a));
  problem(where, `command differs from scenarios.json: ${expected.length} arguments expected, compose has ${actual.length}` +
    (missing.length ? `; missing ${show(missing)}` : '') + (extra.length ? `; not in scenarios.json ${show(extra)}` : '') +
    `\n    expected: ${show(expected)}\n    compose:  ${show(actual)}`);
}

function compareEnv(expected, actual, where) {
  const got = Object.fromEntries(Object.entries(actual ?? {}).map(([k, v]) => [k, String(v)]));
  for (const [k, v] of Object.entries(expected)) {
    if (!(k in got)) problem(where, `environment ${k} missing (scenarios.json means ${show(v)})`);
    else if (got[k] !== v) problem(where, `environment ${k}: scenarios.json means ${show(v)}, compose has ${show(got[k])}`);
  }
  for (const k of Object.keys(got)) if (!(k in expected)) problem(where, `environment ${k} is not in scenarios.json`);
}

function comparePorts(port, actual, where) {
  const want = port ? [`${port}:${port}`] : [];
  const got = (actual ?? []).map(String);
  if (show([...want].sort()) !== show([...got].sort())) problem(where, `published ports ${show(got)}, scenarios.json means ${show(want)}`);
}

/** The image's facts for a service, via its build's Dockerfile. */
function serviceImage(svc, dockerfiles) {
  return svc.build ? dockerfiles.get(svc.build.dockerfile) : undefined;
}

function effectiveArgv(svc, img) {
  const entry = svc.raw.entrypoint ?? img?.facts.entrypoint ?? [];
  return [...entry, ...(svc.raw.command ?? img?.facts.cmd ?? [])];
}

/** Every path under the image prefix that a service uses must be put there by its Dockerfile. */
function checkInstalled(argv, env, img, where) {
  if (!img) return problem(where, 'has no build, so its image cannot be checked');
  const tokens = [...argv, ...Object.values(env ?? {}).map(String)].flatMap((t) => /:\/\//.test(t) ? [] : t.split(':'));
  for (const t of tokens.filter((x) => x.startsWith(`${CONTAINER_VIEW.prefix}/`))) {
    const rel = t.slice(CONTAINER_VIEW.prefix.length + 1);
    const { contextRoot } = img.facts;
    if (contextRoot === CONTAINER_VIEW.prefix && existsSync(path.join(REPO, rel))) continue; // COPY . . into the prefix
    if (rel.startsWith('bin/')) {
      if (!img.df.installs.includes(t)) problem(where, `runs ${t}, which ${img.facts.where} does not install`);
      continue;
    }
    const ancestors = rel.split('/').map((_, i, a) => a.slice(0, i + 1).join('/'));
    if (!existsSync(path.join(REPO, rel))) problem(where, `uses ${t}, but ${rel} is not in the repository`);
    else if (!ancestors.some((a) => img.df.installs.includes(a))) problem(where, `uses ${t}, which ${img.facts.where} does not copy`);
  }
}

function checkDepends(svc, needed, readyServices, where) {
  for (const dep of needed) {
    const condition = svc.deps[dep];
    const want = readyServices.has(dep) ? 'service_healthy' : 'service_started';
    if (!condition) problem(where, `calls ${dep} but has no depends_on ${dep} (condition ${want})`);
    else if (condition !== want) problem(where, `depends_on ${dep}: condition ${condition}, expected ${want} (as the native runner waits)`);
  }
}

function checkProcess(proc, svc, ctx) {
  const where = `${ctx.file}: service ${proc.name}`;
  const img = serviceImage(svc, ctx.dockerfiles);
  const tokenOf = (t, next) => containerToken(t, ctx.hostOf, `${ctx.file}: service ${proc.name}`, ctx.secretOf, next);
  const argv = proc.command.map((t, i, all) => tokenOf(t, all[i + 1]));
  const env = Object.fromEntries(Object.entries(proc.env ?? {}).map(([k, v]) => [k, tokenOf(v)]));
  const actual = effectiveArgv(svc, img);
  compareArgv(argv, actual, where);
  compareEnv(env, svc.raw.environment, where);
  comparePorts(proc.port, svc.raw.ports, where);
  checkInstalled(actual, svc.raw.environment, img, where);
  if (proc.ready) {
    const url = `http://127.0.0.1:${proc.port}${CONTAINER_VIEW.readyPath}`;
    if (!svc.raw.healthcheck?.test?.includes(url)) problem(where, `healthcheck must probe ${url} (readiness; scenarios.json ready ${proc.ready} natively)`);
  }
  const used = [...argv, ...Object.values(env)].join(' ');
  for (const [, name] of used.matchAll(new RegExp(`${CONTAINER_VIEW.secretsDir}/([\\w.-]+)`, 'g'))) {
    if (!(svc.raw.secrets ?? []).includes(name)) problem(where, `uses ${CONTAINER_VIEW.secretsDir}/${name} but does not list secret ${name}`);
  }
  if (used.includes(`${CONTAINER_VIEW.dataDir}/`)) {
    const mounted = (svc.raw.volumes ?? []).some((v) => v.split(':')[1] === CONTAINER_VIEW.dataDir && !/^[./~]/.test(v));
    if (!mounted) problem(where, `keeps data under ${CONTAINER_VIEW.dataDir}/ but mounts no named volume there`);
  }
  const called = [...used.matchAll(/https?:\/\/([a-z0-9_.-]+):\d+/g)].map((m) => m[1]).filter((h) => h !== proc.name);
  checkDepends(svc, new Set(called), ctx.readyServices, where);
  if (img) ctx.portsByDockerfile(img, proc.port);
}

function checkChain(chain, svc, ctx) {
  const where = `${ctx.file}: service ${CONTAINER_VIEW.chainService}`;
  const img = serviceImage(svc, ctx.dockerfiles);
  const argv = effectiveArgv(svc, img);
  const want = { '--host': CONTAINER_VIEW.listenAny, '--port': String(chain.port), '--chain-id': String(chain.chainId) };
  for (const [opt, value] of Object.entries(want)) {
    const i = argv.indexOf(opt);
    if (i < 0 || argv[i + 1] !== value) problem(where, `the chain must run with ${opt} ${value} (deploy/scenarios.json chain), runs ${show(argv)}`);
  }
  comparePorts(chain.port, svc.raw.ports, where);
  if (!svc.raw.healthcheck) problem(where, 'needs a healthcheck (the Payment Servers wait for it)');
  if (!(svc.raw.secrets ?? []).includes(CONTAINER_VIEW.chainSecret)) problem(where, `needs the secret ${CONTAINER_VIEW.chainSecret} (the dev mnemonic)`);
  else if (ctx.secretOf(`${CONTAINER_VIEW.keysDir}mnemonic.txt`) !== CONTAINER_VIEW.chainSecret) problem(where, `secret ${CONTAINER_VIEW.chainSecret} must be the file ${CONTAINER_VIEW.keysDir}mnemonic.txt`);
  const kept = (svc.raw.volumes ?? []).some((v) => v.split(':')[1] === CONTAINER_VIEW.chainState && !/^[./~]/.test(v));
  if (!kept) problem(where, `must keep its state on a named volume at ${CONTAINER_VIEW.chainState} (the Payment Servers' stores record the chain)`);
  checkInstalled(argv, {}, img, where);
  if (img) ctx.portsByDockerfile(img, chain.port);
}

function checkScenario(name, sc, chain, compose, file, dockerfiles, exposeUse) {
  const expectedNames = [...(sc.processes ?? []).map((p) => p.name)];
  if (sc.chain) expectedNames.push(CONTAINER_VIEW.chainService);
  if (sc.run) expectedNames.push(name);
  const actualNames = Object.keys(compose.services);
  for (const n of expectedNames) if (!actualNames.includes(n)) problem(file, `service ${n} of scenario ${name} is missing`);
  for (const n of actualNames) if (!expectedNames.includes(n)) problem(file, `service ${n} is not in scenario ${name} of deploy/scenarios.json`);

  const byPort = new Map((sc.processes ?? []).filter((p) => p.port).map((p) => [p.port, p.name]));
  if (sc.chain) byPort.set(chain.port, CONTAINER_VIEW.chainService);
  const readyServices = new Set((sc.processes ?? []).filter((p) => p.ready).map((p) => p.name));
  if (sc.chain) readyServices.add(CONTAINER_VIEW.chainService);
  const ctx = {
    file, scenario: name, dockerfiles, readyServices, secretOf: compose.secretOf,
    hostOf: (port) => byPort.get(port),
    portsByDockerfile: (img, port) => { if (port) exposeUse.get(img.df.file).add(String(port)); },
  };
  for (const proc of sc.processes ?? []) {
    if (compose.services[proc.name]) checkProcess(proc, compose.services[proc.name], ctx);
  }
  if (sc.chain && compose.services[CONTAINER_VIEW.chainService]) checkChain(chain, compose.services[CONTAINER_VIEW.chainService], ctx);
  if (sc.run && compose.services[name]) {
    const svc = compose.services[name];
    const img = serviceImage(svc, dockerfiles);
    const argv = effectiveArgv(svc, img);
    compareArgv(sc.run.map((t) => containerToken(t, ctx.hostOf, `deploy/scenarios.json: ${name}.run`, ctx.secretOf)), argv, `${file}: service ${name}`);
    comparePorts(undefined, svc.raw.ports, `${file}: service ${name}`);
    checkInstalled(argv, svc.raw.environment, img, `${file}: service ${name}`);
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const yaml = await loadYamlModule();
  const scenarios = JSON.parse(readFileSync(path.join(DEPLOY, 'scenarios.json'), 'utf8'));
  const composeFiles = readdirSync(DEPLOY).filter((f) => /^docker-compose.*\.ya?ml$/.test(f)).sort();
  // a scenario without "compose" is native only (its compose file has not been written yet)
  const named = Object.values(scenarios.scenarios).map((s) => s.compose).filter(Boolean);
  for (const f of named) if (!composeFiles.includes(f)) problem(`deploy/${f}`, 'named by deploy/scenarios.json but missing');
  for (const f of composeFiles) if (!named.includes(f)) problem(`deploy/${f}`, 'belongs to no scenario of deploy/scenarios.json');

  const dockerfiles = new Map(); // path -> {df, facts}
  for (const f of readdirSync(DEPLOY).filter((x) => /^Dockerfile\.[a-z]+$/.test(x)).sort()) {
    const df = parseDockerfile(path.join(DEPLOY, f));
    checkDockerfileShape(df);
    checkContext(df);
    dockerfiles.set(df.file, { df, facts: imageFacts(df) });
  }
  const exposeUse = new Map([...dockerfiles.keys()].map((k) => [k, new Set()]));

  for (const [name, sc] of Object.entries(scenarios.scenarios)) {
    const file = `deploy/${sc.compose}`;
    if (!composeFiles.includes(sc.compose)) continue;
    const compose = parseCompose(yaml, sc.compose);
    const checked = compose && checkComposeStructure(compose, file);
    if (checked) checkScenario(name, sc, scenarios.chain, checked, file, dockerfiles, exposeUse);
  }

  for (const [file, used] of exposeUse) {
    const { expose, where } = dockerfiles.get(file).facts;
    for (const p of used) if (!expose.has(p)) problem(where, `compose publishes container port ${p}, which is not EXPOSEd`);
    for (const p of expose) if (!used.has(p)) problem(where, `EXPOSE ${p}, but no compose service of this image listens on it`);
  }

  if (problems.length) {
    console.error(`deploy/check-compose.mjs: ${problems.length} problem(s):`);
    for (const p of problems) console.error(`  ${p}`);
    process.exit(1);
  }
  console.log(`deploy/check-compose.mjs: ${composeFiles.length} compose files and ${dockerfiles.size} Dockerfiles match deploy/scenarios.json`);
}

await main();
