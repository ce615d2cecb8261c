// The real kubectl (1.32) and NetworkPolicy: `apply -f` of a manifest, `get networkpolicy`
// (NAME POD-SELECTOR AGE from the server's Table), `describe` (kubectl's own describer
// over the typed protobuf client), and an invalid policy refused with upstream's words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kubectlAgainstApp } from '../support/kubectl-app.ts';

const h = kubectlAgainstApp('kubectl-netpol');
const { skipWhy, kubectl, ok } = h;

const MANIFEST = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-allow
  namespace: default
spec:
  podSelector:
    matchLabels:
      app: web
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          team: shop
      podSelector:
        matchLabels:
          role: frontend
    - ipBlock:
        cidr: 172.17.0.0/16
        except:
        - 172.17.1.0/24
    ports:
    - port: 80
    - protocol: UDP
      port: 5000
      endPort: 5010
  egress:
  - to:
    - namespaceSelector: {}
    ports:
    - protocol: UDP
      port: 53
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: default
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
`;

test('kubectl apply, get and describe networkpolicy', { skip: skipWhy, timeout: 90_000 }, async () => {
  writeFileSync(join(h.dir(), 'np.yaml'), MANIFEST);
  assert.equal(await ok('apply', '-f', join(h.dir(), 'np.yaml')), 'networkpolicy.networking.k8s.io/api-allow created\nnetworkpolicy.networking.k8s.io/default-deny created\n');

  const get = await ok('get', 'networkpolicy');
  const lines = get.trimEnd().split('\n');
  assert.match(lines[0]!, /^NAME\s+POD-SELECTOR\s+AGE$/);
  assert.match(lines[1]!, /^api-allow\s+app=web\s+\d+s$/);
  assert.match(lines[2]!, /^default-deny\s+<none>\s+\d+s$/);
  assert.equal(lines.length, 3);
  // The short name and the defaults the server filled in.
  assert.equal(await ok('get', 'netpol', 'api-allow', '-o', 'jsonpath={.spec.policyTypes} {.spec.ingress[0].ports[0].protocol}'), '["Ingress","Egress"] TCP');

  const d = await ok('describe', 'networkpolicy', 'api-allow');
  assert.match(d, /^Name:\s+api-allow$/m);
  assert.match(d, /^Namespace:\s+default$/m);
  assert.match(d, /PodSelector:\s+app=web/);
  assert.match(d, /Allowing ingress traffic:/);
  assert.match(d, /To Port: 80\/TCP/);
  assert.match(d, /To Port Range: 5000-5010\/UDP/);
  assert.match(d, /NamespaceSelector: team=shop/);
  assert.match(d, /PodSelector: role=frontend/);
  assert.match(d, /IPBlock:\s+CIDR: 172\.17\.0\.0\/16\s+Except: 172\.17\.1\.0\/24/);
  assert.match(d, /Allowing egress traffic:/);
  assert.match(d, /To Port: 53\/UDP/);
  assert.match(d, /Policy Types: Ingress, Egress/);
  const deny = await ok('describe', 'netpol', 'default-deny');
  assert.match(deny, /PodSelector:\s+<none> \(Allowing the specific traffic to all pods in this namespace\)/);
  assert.match(deny, /Allowing ingress traffic:\s+<none> \(Selected pods are isolated for ingress connectivity\)/);
  assert.match(deny, /Allowing egress traffic:\s+<none> \(Selected pods are isolated for egress connectivity\)/);

  // A second apply with a change is a patch: no 409, the generation moves.
  writeFileSync(join(h.dir(), 'np2.yaml'), MANIFEST.replace('app: web', 'app: api'));
  assert.match(await ok('apply', '-f', join(h.dir(), 'np2.yaml')), /networkpolicy.networking.k8s.io\/api-allow configured/);
  assert.equal(await ok('get', 'netpol', 'api-allow', '-o', 'jsonpath={.metadata.generation} {.spec.podSelector.matchLabels.app}'), '2 api');
});

test('kubectl apply of an invalid policy: upstream\'s message and field path, nothing stored', { skip: skipWhy, timeout: 60_000 }, async () => {
  writeFileSync(join(h.dir(), 'bad.yaml'), `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: bad
spec:
  podSelector:
    matchExpressions:
    - key: app
      operator: Equals
      values: [web]
  ingress:
  - from:
    - ipBlock:
        cidr: 192.168.8.0/24
        except: [192.168.9.1/24]
    ports:
    - port: 0
`);
  const r = await kubectl('apply', '-f', join(h.dir(), 'bad.yaml'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /The NetworkPolicy "bad" is invalid: /);
  assert.match(r.stderr, /spec\.podSelector\.matchExpressions\[0\]\.operator: Invalid value: "Equals": not a valid selector operator/);
  assert.match(r.stderr, /spec\.ingress\[0\]\.ports\[0\]\.port: Invalid value: 0: must be between 1 and 65535, inclusive/);
  assert.match(r.stderr, /spec\.ingress\[0\]\.from\[0\]\.ipBlock\.except\[0\]: Invalid value: "192\.168\.9\.1\/24": must be a strict subset of `cidr`/);
  const get = await kubectl('get', 'netpol', 'bad');
  assert.equal(get.code, 1);
  assert.match(get.stderr, /networkpolicies.networking.k8s.io "bad" not found/);
});
