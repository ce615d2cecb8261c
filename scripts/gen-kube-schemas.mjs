#!/usr/bin/env node
// Derives the protobuf field tables under control/server/protobuf/schemas/ from the
// upstream definitions: k8s.io/api's and k8s.io/apimachinery's generated.proto (field
// numbers, wire types, repeated/map) and types.go (which Go fields are pointers, so a
// decoder keeps their zero values). Only the facts are taken — message names, field
// names, numbers and types — never comments. Run it when a kind is added:
//
//   node scripts/gen-kube-schemas.mjs DIR
//
// where DIR holds <pkg>-v1.proto and <pkg>-v1.types.go for core, apps, batch,
// networking, discovery, autoscaling, meta, plus runtime.proto, intstr.proto and
// resource.proto (from a checkout of kubernetes/api and kubernetes/apimachinery).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) { console.error('usage: gen-kube-schemas.mjs DIR'); process.exit(2); }
const out = new URL('../control/server/protobuf/schemas/', import.meta.url).pathname;

/** proto package -> short name used in the tables. */
const PKGS = {
  'k8s.io.api.core.v1': 'core', 'k8s.io.api.apps.v1': 'apps', 'k8s.io.api.batch.v1': 'batch',
  'k8s.io.api.networking.v1': 'networking', 'k8s.io.api.discovery.v1': 'discovery', 'k8s.io.api.autoscaling.v1': 'autoscaling',
  'k8s.io.apimachinery.pkg.apis.meta.v1': 'meta', 'k8s.io.apimachinery.pkg.runtime': 'runtime',
  'k8s.io.apimachinery.pkg.util.intstr': 'intstr', 'k8s.io.apimachinery.pkg.api.resource': 'resource',
};
const FILES = {
  core: 'core-v1', apps: 'apps-v1', batch: 'batch-v1', networking: 'networking-v1', discovery: 'discovery-v1',
  autoscaling: 'autoscaling-v1', meta: 'meta-v1', runtime: 'runtime', intstr: 'intstr', resource: 'resource',
};
/** The messages the server encodes and decodes at top level; everything they reach comes along. */
const ROOTS = [
  ...['Namespace', 'Node', 'Pod', 'Service', 'Endpoints', 'Event', 'ConfigMap', 'Secret', 'ServiceAccount'].flatMap((k) => [`core.${k}`, `core.${k}List`]),
  'core.Binding',
  ...['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet'].flatMap((k) => [`apps.${k}`, `apps.${k}List`]),
  'batch.Job', 'batch.JobList', 'networking.NetworkPolicy', 'networking.NetworkPolicyList',
  'discovery.EndpointSlice', 'discovery.EndpointSliceList', 'autoscaling.Scale',
  'meta.Status', 'meta.WatchEvent', 'meta.DeleteOptions', 'runtime.Unknown',
];
/** Wire layouts the codec implements itself (their JSON form is not their fields). */
const BUILTIN = new Set(['meta.Time', 'meta.MicroTime', 'meta.FieldsV1', 'intstr.IntOrString', 'resource.Quantity', 'runtime.RawExtension']);

const messages = new Map(); // qualified name -> [{name, num, type, label}]
for (const [pkg, file] of Object.entries(FILES)) {
  const text = readFileSync(join(dir, `${file}.proto`), 'utf8').replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const pkgName = /package\s+([\w.]+);/.exec(text)[1];
  if (PKGS[pkgName] !== pkg) throw new Error(`${file}: package ${pkgName}`);
  for (const m of text.matchAll(/message\s+(\w+)\s*\{([^{}]*)\}/g)) {
    const fields = [];
    for (const f of m[2].matchAll(/(optional|repeated|required)?\s*(map<\s*string\s*,\s*([.\w]+)\s*>|[.\w]+)\s+(\w+)\s*=\s*(\d+)\s*;/g)) {
      const isMap = f[2].startsWith('map<');
      fields.push({ name: f[4], num: Number(f[5]), type: qualify(isMap ? f[3] : f[2], pkg), label: isMap ? 'map' : f[1] === 'repeated' ? 'repeated' : 'optional' });
    }
    messages.set(`${pkg}.${m[1]}`, fields);
  }
}
function qualify(t, pkg) {
  if (['string', 'int32', 'int64', 'bool', 'bytes', 'double', 'float'].includes(t)) return t;
  if (t.startsWith('.')) {
    const i = t.lastIndexOf('.');
    const p = PKGS[t.slice(1, i)];
    if (!p) throw new Error(`unknown package in ${t}`);
    return `${p}.${t.slice(i + 1)}`;
  }
  return `${pkg}.${t}`;
}

// Pointer fields from types.go: `Replicas *int32 \`json:"replicas,omitempty" protobuf:"varint,1,opt,name=replicas"\``.
const pointers = new Set(); // 'pkg.Message.field'
for (const pkg of ['core', 'apps', 'batch', 'networking', 'discovery', 'autoscaling', 'meta']) {
  const go = readFileSync(join(dir, `${FILES[pkg]}.types.go`), 'utf8');
  for (const s of go.matchAll(/^type\s+(\w+)\s+struct\s*\{([\s\S]*?)^\}/gm)) {
    for (const f of s[2].matchAll(/^\s*\w+\s+(\S+)\s+`[^`]*protobuf:"[^"]*name=(\w+)[^"]*"[^`]*`/gm)) {
      if (f[1].startsWith('*')) pointers.add(`${pkg}.${s[1]}.${f[2]}`);
    }
  }
}

// Closure from the roots.
const need = new Set();
const walk = (q) => {
  if (need.has(q) || BUILTIN.has(q)) return;
  const fields = messages.get(q);
  if (!fields) throw new Error(`no message ${q}`);
  need.add(q);
  for (const f of fields) if (f.type.includes('.')) walk(f.type);
};
ROOTS.forEach(walk);

const byPkg = new Map();
for (const q of [...need].sort()) {
  const pkg = q.slice(0, q.indexOf('.'));
  const name = q.slice(pkg.length + 1);
  const spec = messages.get(q).map((f) => {
    const t = f.type.startsWith(`${pkg}.`) ? f.type.slice(pkg.length + 1) : f.type;
    const pre = f.label === 'repeated' ? '[]' : f.label === 'map' ? '{}' : pointers.has(`${q}.${f.name}`) ? '*' : '';
    return `${f.name}=${f.num}:${pre}${t}`;
  }).join(' ');
  if (!byPkg.has(pkg)) byPkg.set(pkg, []);
  byPkg.get(pkg).push(`  ${name}: '${spec}',`);
}
for (const [pkg, lines] of byPkg) {
  const body = `/**
 * Protobuf field tables of ${pkg === 'meta' || pkg === 'runtime' ? 'k8s.io/apimachinery' : 'k8s.io/api'} ${pkg}${['runtime'].includes(pkg) ? '' : '/v1'}, generated by
 * scripts/gen-kube-schemas.mjs from upstream generated.proto and types.go (the
 * messages the served kinds reach). Each entry: \`jsonName=fieldNumber:type\`, with
 * \`[]\` repeated, \`{}\` map<string, T>, \`*\` a Go pointer (zero values are kept on
 * decode); types without a package prefix are in this package.
 */
export const ${pkg.toUpperCase()}: Readonly<Record<string, string>> = {
${lines.join('\n')}
};
`;
  writeFileSync(join(out, `${pkg}.ts`), body);
  console.log(`${pkg}: ${lines.length} messages`);
}
