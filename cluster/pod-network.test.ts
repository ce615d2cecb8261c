import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim } from '../netsim/sim.ts';
import { NetNamespace } from '../netsim/stack/net-namespace.ts';
import { Iptables } from '../netsim/netfilter/iptables/iptables.ts';
import { dockerPodNetwork } from './pod-network.ts';

test('the docker runtime refuses a pod with hostPorts with a clear reason (not a silently dead port); without them the pod starts', () => {
  const sim = new Sim({ seed: 1 });
  const node = new NetNamespace(sim, 'node01', 'node01', { ipForward: true });
  const net = dockerPodNetwork(node, 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n', new Iptables());
  assert.throws(() => net.setup({ namespace: 'default', name: 'web', uid: 'u1', hostNetwork: false, portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'TCP' }] }),
    /^Error: hostPort 8080\/TCP: the docker runtime's hostPort publishing \(the DOCKER chain and docker-proxy\) is not modelled; use runtime: cni/);
  const ok = net.setup({ namespace: 'default', name: 'web2', uid: 'u2', hostNetwork: false, portMappings: [] });
  assert.ok(ok.ip !== 0);
});
