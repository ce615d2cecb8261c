// One pod on node02 behind a LoadBalancer Service with externalTrafficPolicy: Local: only
// node02 has a local endpoint (its health-check node port answers 200, node01's 503).
import { parseManifests } from '../../cluster/spec.ts';

export const SOLO_LOCAL_LB = parseManifests(`
apiVersion: v1
kind: Pod
metadata: {name: solo, labels: {app: solo}}
spec:
  nodeName: node02
  containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: solo-local}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: solo}
  ports: [{port: 80}]
`);
