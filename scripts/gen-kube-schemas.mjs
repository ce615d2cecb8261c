#!/usr/bin/env node
// Derives the field tables under control/server/protobuf/schemas/ (protobuf and the
// OpenAPI schemas' shape) from the upstream definitions: k8s.io/api's and
// k8s.io/apimachinery's generated.proto (field numbers, wire types, repeated/map) and
// types.go (which Go fields are pointers, so a decoder keeps their zero values, and
// which are required). Only the facts are taken — message names, field
// names, numbers and types — never comments. Run it when a kind is added:
//
//   node scripts/gen-kube-schemas.mjs DIR
//
// where DIR holds <pkg>-v1.proto and <pkg>-v1.types.go for core, apps, batch,
// networking, discovery, autoscaling, meta, plus runtime.proto, intstr.proto and
// resource.proto. The tables in the tree come from tag v0.32.9 (Kubernetes 1.32) of
// kubernetes/api and kubernetes/apimachinery:
//
//   for p in core apps batch networking discovery autoscaling; do
//     git -C api show v0.32.9:$p/v1/generated.proto > DIR/$p-v1.proto
//     git -C api show v0.32.9:$p/v1/types.go > DIR/$p-v1.types.go; done
//   m=pkg/apis/meta/v1; git -C apimachinery show v0.32.9:$m/generated.proto > DIR/meta-v1.proto
//   git -C apimachinery show v0.32.9:$m/types.go > DIR/meta-v1.types.go
//   git -C apimachinery show v0.32.9:pkg/runtime/generated.proto > DIR/runtime.proto
//   git -C apimachinery show v0.32.9:pkg/util/intstr/generated.proto > DIR/intstr.proto
//   git -C apimachinery show v0.32.9:pkg/api/resource/generated.proto > DIR/resource.proto
//
// A new kind whose message is not in the tables yet: add it to ROOTS below (and its
// group-version to GROUP_PACKAGES in control/server/protobuf/schema.ts if new).
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

// From types.go (by message and field number): embedded structs whose fields JSON
// inlines into the parent (`ProbeHandler \`json:",inline" protobuf:"bytes,1,opt,name=handler"\``),
// pointer fields (`Replicas *int32 \`json:"replicas,omitempty" protobuf:"varint,1,opt,name=replicas"\``)
// and required ones, by openapi-gen's rule: no `omitempty` in the json tag and no `+optional`
// marker in the comment above, or a `+required` marker.
const pointers = new Set(); // 'pkg.Message.field'
const required = new Set();
const inline = new Set();
for (const pkg of ['core', 'apps', 'batch', 'networking', 'discovery', 'autoscaling', 'meta']) {
  const go = readFileSync(join(dir, `${FILES[pkg]}.types.go`), 'utf8');
  for (const s of go.matchAll(/^type\s+(\w+)\s+struct\s*\{([\s\S]*?)^\}/gm)) {
    let comment = [];
    for (const line of s[2].split('\n')) {
      const t = line.trim();
      if (t.startsWith('//')) { comment.push(t); continue; }
      // `Name Type \`json:"..." protobuf:"wire,NUMBER,..."\`` or an embedded `Type \`json:",inline" protobuf:...\``
      const f = /^(?:\w+\s+)?(\S+)\s+`[^`]*json:"([^"]*)"[^`]*protobuf:"\w+,(\d+)[^"]*"[^`]*`/.exec(t);
      if (f) {
        const key = `${pkg}.${s[1]}.${f[3]}`;
        if (f[1].startsWith('*')) pointers.add(key);
        if (f[2].split(',').includes('inline')) inline.add(key);
        const optional = f[2].split(',').includes('omitempty') || comment.some((c) => /^\/\/\s*\+optional\b/.test(c));
        if ((!optional && !inline.has(key)) || comment.some((c) => /^\/\/\s*\+required\b/.test(c))) required.add(key);
      }
      comment = [];
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
    const key = `${q}.${f.num}`;
    const pre = f.label === 'repeated' ? '[]' : f.label === 'map' ? '{}' : inline.has(key) ? '~' : pointers.has(key) ? '*' : '';
    return `${f.name}=${f.num}:${pre}${t}${required.has(key) ? '!' : ''}`;
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
 * decode), \`~\` an embedded struct whose fields JSON puts in the parent object, a
 * trailing \`!\` a required field (OpenAPI); types without a package prefix are in
 * this package.
 */
export const ${pkg.toUpperCase()}: Readonly<Record<string, string>> = {
${lines.join('\n')}
};
`;
  writeFileSync(join(out, `${pkg}.ts`), body);
  console.log(`${pkg}: ${lines.length} messages`);
}
