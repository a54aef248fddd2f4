#!/usr/bin/env node
// deploy/k8s/check-k8s.mjs: checks the Kubernetes manifests of deploy/k8s/ without a cluster (there
// is none here, and `kubectl apply --dry-run=client` needs an API server): each kustomization's
// resources parse, have known apiVersion/kind pairs, and hang together - selectors match the pod
// labels, Services and PodDisruptionBudgets select a workload and name its ports, every referenced
// Secret/ConfigMap is generated and its files exist, StatefulSets name their Service - and every
// container runs non-root with resource requests, liveness and readiness probes (paychand and the
// services: /health and /ready), keys only from mounted Secrets (never in env values).
//   node deploy/k8s/check-k8s.mjs      exit 0, or 1 with one line per problem
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const K8S = path.dirname(fileURLToPath(import.meta.url));
const KINDS = { Deployment: 'apps/v1', StatefulSet: 'apps/v1', Service: 'v1', ConfigMap: 'v1', Secret: 'v1',
  PodDisruptionBudget: 'policy/v1', NetworkPolicy: 'networking.k8s.io/v1' };
const problems = [];
const problem = (where, msg) => problems.push(`${where}: ${msg}`);
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v) && Object.keys(selector ?? {}).length > 0;

function load(dir) {
  const kust = YAML.parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'));
  const docs = kust.resources.flatMap((f) => YAML.parseAllDocuments(readFileSync(path.join(dir, f), 'utf8'))
    .map((d) => ({ doc: d.toJS(), where: `${path.basename(dir)}/${f}`, errors: d.errors })));
  for (const [kind, gens] of [['ConfigMap', kust.configMapGenerator], ['Secret', kust.secretGenerator]]) {
    for (const g of gens ?? []) {
      for (const f of g.files ?? []) if (!existsSync(path.join(dir, f.split('=').pop()))) problem(`${path.basename(dir)}/kustomization.yaml`, `${kind} ${g.name}: no file ${f}`);
      docs.push({ doc: { apiVersion: 'v1', kind, metadata: { name: g.name }, keys: (g.files ?? []).map((f) => path.basename(f.split('=')[0])) }, where: 'kustomization.yaml', errors: [] });
    }
  }
  return docs;
}

function checkContainer(c, byKind, where) {
  const paychan = c.image.startsWith('paychan/') && c.image !== 'paychan/chain:dev';
  if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory) problem(where, `container ${c.name}: needs resources.requests cpu and memory`);
  if (!c.livenessProbe || !c.readinessProbe) problem(where, `container ${c.name}: needs liveness and readiness probes`);
  if (paychan && (c.livenessProbe?.httpGet?.path !== '/health' || c.readinessProbe?.httpGet?.path !== '/ready')) problem(where, `container ${c.name}: liveness must be GET /health and readiness GET /ready`);
  for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe].map((x) => x?.httpGet?.port ?? x?.tcpSocket?.port).filter((x) => typeof x === 'string')) {
    if (!(c.ports ?? []).some((q) => q.name === p)) problem(where, `container ${c.name}: probe port ${p} is not a named port`);
  }
  if (c.securityContext?.allowPrivilegeEscalation !== false) problem(where, `container ${c.name}: allowPrivilegeEscalation must be false`);
  for (const e of c.env ?? []) if (/KEY|PASSWORD|MNEMONIC/.test(e.name) && !String(e.value).startsWith('/etc/paychan/keys/')) problem(where, `container ${c.name}: env ${e.name} must name a mounted key file, not hold a key`);
}

function checkWorkload(w, docs, where) {
  const byKind = (k, n) => docs.find((d) => d.doc.kind === k && d.doc.metadata.name === n);
  const spec = w.spec, pod = spec.template?.spec ?? {};
  if (!matches(spec.selector?.matchLabels, spec.template?.metadata?.labels)) problem(where, `${w.metadata.name}: selector does not match the pod labels`);
  if (w.kind === 'StatefulSet' && !byKind('Service', spec.serviceName)) problem(where, `${w.metadata.name}: serviceName ${spec.serviceName} is no Service here`);
  if (pod.securityContext?.runAsNonRoot !== true) problem(where, `${w.metadata.name}: pods must run as non-root (runAsNonRoot)`);
  for (const v of pod.volumes ?? []) {
    if (v.secret && !byKind('Secret', v.secret.secretName)) problem(where, `${w.metadata.name}: Secret ${v.secret.secretName} is not generated`);
    if (v.configMap && !byKind('ConfigMap', v.configMap.name)) problem(where, `${w.metadata.name}: ConfigMap ${v.configMap.name} is not generated`);
  }
  const claims = (spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name);
  for (const c of pod.containers ?? []) {
    checkContainer(c, byKind, where);
    for (const m of c.volumeMounts ?? []) if (!(pod.volumes ?? []).some((v) => v.name === m.name) && !claims.includes(m.name)) problem(where, `container ${c.name}: mounts unknown volume ${m.name}`);
  }
}

for (const dir of readdirSync(K8S, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(K8S, e.name))) {
  const docs = load(dir);
  const pods = docs.filter((d) => ['Deployment', 'StatefulSet'].includes(d.doc.kind));
  for (const { doc, where, errors } of docs) {
    if (errors.length) { problem(where, errors.map(String).join('; ')); continue; }
    if (KINDS[doc.kind] !== doc.apiVersion) problem(where, `${doc.kind} ${doc.metadata?.name}: apiVersion ${doc.apiVersion}, expected ${KINDS[doc.kind] ?? '(unknown kind)'}`);
    if (!doc.metadata?.name) problem(where, `${doc.kind} without metadata.name`);
    if (pods.includes(pods.find((p) => p.doc === doc))) checkWorkload(doc, docs, where);
    const selector = doc.kind === 'Service' ? doc.spec.selector : doc.kind === 'PodDisruptionBudget' ? doc.spec.selector?.matchLabels : undefined;
    if (selector) {
      const target = pods.find((p) => matches(selector, p.doc.spec.template.metadata.labels));
      if (!target) problem(where, `${doc.kind} ${doc.metadata.name}: selects no workload`);
      const ports = target?.doc.spec.template.spec.containers.flatMap((c) => c.ports ?? []) ?? [];
      for (const p of doc.kind === 'Service' ? doc.spec.ports : []) {
        if (!ports.some((q) => q.name === p.targetPort || q.containerPort === p.targetPort)) problem(where, `Service ${doc.metadata.name}: targetPort ${p.targetPort} is no container port of its workload`);
      }
    }
  }
  if (!docs.some((d) => d.doc.kind === 'PodDisruptionBudget')) problem(path.basename(dir), 'has no PodDisruptionBudget');
}
if (problems.length) {
  console.error(`deploy/k8s/check-k8s.mjs: ${problems.length} problem(s):`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log('deploy/k8s/check-k8s.mjs: the manifests of deploy/k8s hang together');
