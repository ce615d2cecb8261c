// kubectl's typed commands against the emulated API server: `kubectl create <kind>`
// and `describe` talk protobuf (client-go's typed clients), `explain` reads the
// OpenAPI v3 documents, `apply` stays JSON. Runs the machine's kubectl (1.32).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlAgainstApp } from '../support/kubectl-app.ts';

const h = kubectlAgainstApp('kubectl-typed');
const { skipWhy, kubectl, ok } = h;

const jsonpath = (kind: string, name: string, path: string, ...extra: string[]): Promise<string> => ok('get', kind, name, '-o', `jsonpath=${path}`, ...extra);

test('kubectl create namespace|deployment|service (protobuf bodies) and the objects read back', { skip: skipWhy, timeout: 60_000 }, async () => {
  assert.equal(await ok('create', 'namespace', 'shop'), 'namespace/shop created\n');
  assert.equal(await ok('create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=2', '--port=80', '-n', 'shop'), 'deployment.apps/web created\n');
  assert.equal(await ok('create', 'deployment', 'idle', '--image=nginx', '--replicas=0', '-n', 'shop'), 'deployment.apps/idle created\n');
  assert.equal(await ok('create', 'service', 'clusterip', 'web', '--tcp=80:8080', '-n', 'shop'), 'service/web created\n');
  assert.equal(await ok('create', 'service', 'nodeport', 'np', '--tcp=80:80', '--node-port=30080', '-n', 'shop'), 'service/np created\n');

  assert.equal(await jsonpath('namespace', 'shop', '{.status.phase}'), 'Active');
  assert.equal(await jsonpath('deployment', 'web', '{.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}', '-n', 'shop'), '2 nginx:1.27 80');
  // replicas is a pointer in Go: an explicit 0 arrives as 0, not as "unset" (which would default to 1).
  assert.equal(await jsonpath('deployment', 'idle', '{.spec.replicas}', '-n', 'shop'), '0');
  assert.equal(await jsonpath('service', 'web', '{.spec.ports[0].port}/{.spec.ports[0].targetPort}', '-n', 'shop'), '80/8080');
  assert.equal(await jsonpath('service', 'np', '{.spec.type} {.spec.ports[0].nodePort}', '-n', 'shop'), 'NodePort 30080');

  // Creating again: the AlreadyExists Status travels back in protobuf.
  const again = await kubectl('create', 'namespace', 'shop');
  assert.equal(again.code, 1);
  assert.match(again.stderr, /namespaces "shop" already exists/);
});

test('kubectl create configmap|secret generic|serviceaccount|job (protobuf bodies) and the objects read back', { skip: skipWhy, timeout: 60_000 }, async () => {
  assert.equal(await ok('create', 'configmap', 'cfg', '--from-literal=a=b', '--from-literal=c=d'), 'configmap/cfg created\n');
  assert.equal(await jsonpath('configmap', 'cfg', '{.data.a}{.data.c}'), 'bd');
  assert.equal(await ok('create', 'secret', 'generic', 'sec', '--from-literal=user=admin'), 'secret/sec created\n');
  // Secret.data is map<string, bytes>: base64 in JSON, raw bytes on the wire.
  assert.equal(await jsonpath('secret', 'sec', '{.data.user}'), Buffer.from('admin').toString('base64'));
  assert.equal(await ok('create', 'serviceaccount', 'robot'), 'serviceaccount/robot created\n');
  assert.equal(await ok('create', 'job', 'once', '--image=busybox'), 'job.batch/once created\n');
  assert.equal(await jsonpath('job', 'once', '{.spec.template.spec.restartPolicy}'), 'Never');
});

test('kubectl apply, describe (typed client, protobuf) and explain of the DaemonSet and StatefulSet kinds', { skip: skipWhy, timeout: 30_000 }, async () => {
  writeFileSync(join(h.dir(), 'workloads.yaml'), `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent }
spec:
  selector: { matchLabels: { app: agent } }
  template: { metadata: { labels: { app: agent } }, spec: { containers: [ { name: a, image: busybox } ] } }
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db }
spec:
  serviceName: db
  replicas: 2
  selector: { matchLabels: { app: db } }
  template: { metadata: { labels: { app: db } }, spec: { containers: [ { name: d, image: nginx } ] } }
`);
  assert.equal(await ok('apply', '-f', 'workloads.yaml'), 'daemonset.apps/agent created\nstatefulset.apps/db created\n');
  assert.match(await ok('describe', 'daemonset', 'agent'), /^Selector:\s+app=agent$/m);
  assert.match(await ok('describe', 'statefulset', 'db'), /^Replicas:\s+2 desired/m);
  assert.match(await ok('explain', 'daemonsets.spec.updateStrategy.type'), /^ENUM:\n\s+OnDelete\n\s+RollingUpdate$/m);
});

test('kubectl describe reads through the typed client in protobuf', { skip: skipWhy, timeout: 30_000 }, async () => {
  await kubectl('create', 'namespace', 'desc');
  await ok('create', 'deployment', 'api', '--image=httpd', '--replicas=3', '-n', 'desc');
  const r = await kubectl('describe', 'deployment', 'api', '-n', 'desc', '-v=8');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Replicas:\s+3 desired/m);
  assert.match(r.stdout, /^Namespace:\s+desc$/m);
  assert.match(r.stderr, /Accept: application\/vnd\.kubernetes\.protobuf,application\/json/);
  // describe only GETs, so a protobuf Content-Type is a response header.
  assert.match(r.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/);
});

test('kubectl apply stays JSON and keeps working next to protobuf writes', { skip: skipWhy, timeout: 30_000 }, async () => {
  writeFileSync(join(h.dir(), 'applied.yaml'), 'apiVersion: v1\nkind: Service\nmetadata:\n  name: applied\nspec:\n  selector: { app: web }\n  ports: [{ port: 81, targetPort: http }]\n');
  assert.equal(await ok('apply', '-f', 'applied.yaml'), 'service/applied created\n');
  assert.equal(await ok('apply', '-f', 'applied.yaml'), 'service/applied unchanged\n');
  assert.equal(await jsonpath('service', 'applied', '{.spec.ports[0].targetPort}'), 'http');
});

test('kubectl explain walks the OpenAPI v3 schemas: kinds, nested fields, types, required, enums', { skip: skipWhy, timeout: 30_000 }, async () => {
  const ports = await ok('explain', 'pods.spec.containers.ports');
  assert.match(ports, /^KIND:\s+Pod$/m);
  assert.match(ports, /^FIELD: ports <\[\]ContainerPort>$/m);
  assert.match(ports, /^\s+containerPort\t<integer> -required-$/m);
  assert.match(ports, /^\s+protocol\t<string>\n\s+enum: SCTP, TCP, UDP$/m);
  const deploy = await ok('explain', 'deployments.spec');
  assert.match(deploy, /^GROUP:\s+apps$/m);
  assert.match(deploy, /^\s+replicas\t<integer>$/m);
  assert.match(deploy, /^\s+template\t<PodTemplateSpec> -required-$/m);
  assert.match(await ok('explain', 'svc.spec.ports.targetPort'), /^FIELD: targetPort <IntOrString>$/m);
  // Probe embeds its handler: httpGet is a field of the probe itself.
  assert.match(await ok('explain', 'pods.spec.containers.readinessProbe.httpGet.port'), /^FIELD: port <IntOrString>$/m);
  assert.match(await ok('explain', 'secrets.data'), /^FIELD: data <map\[string\]string>$/m);
  assert.match(await ok('explain', 'jobs.spec.template.spec.containers.env.valueFrom.configMapKeyRef'), /^\s+key\t<string> -required-$/m);
  const nope = await kubectl('explain', 'pods.spec.nosuchfield');
  assert.equal(nope.code, 1);
  assert.match(nope.stderr, /field "nosuchfield" does not exist/);
});
