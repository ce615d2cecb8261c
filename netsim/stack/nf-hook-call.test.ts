/**
 * NfHookCaller reuses one context per nesting depth: a hook that runs another hook
 * before returning (REJECT through OUTPUT, IPVS re-sending) must find its own context
 * unchanged afterwards, and a reused context carries nothing from its previous call.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NfHookCaller } from './nf-hook-call.ts';
import { NF_ACCEPT, NF_DROP } from './netfilter-hooks.ts';
import type { NetfilterHooks, NfContext, NfHook, NfVerdict } from './netfilter-hooks.ts';
import type { NetDevice } from '../link/net-device.ts';
import type { Packet } from '../packet/packet.ts';

const dev = (name: string): NetDevice => ({ name }) as unknown as NetDevice;
const pkt = {} as Packet;
const [br, port, eth0, lo] = [dev('cni0'), dev('veth1'), dev('eth0'), dev('lo')];

const view = (c: NfContext): string => `${c.hook} ${c.inDev?.name ?? '-'} ${c.outDev?.name ?? '-'} ${c.physIn?.name ?? '-'} ${c.physOut?.name ?? '-'}`;

test('a nested hook call gets its own context; the outer one is intact after it; a reused context is refilled whole', () => {
  const caller = new NfHookCaller();
  const seen: NfContext[] = [];
  const log: string[] = [];
  const hooks: NetfilterHooks = {
    run(hook: NfHook, _p: Packet, ctx: NfContext): NfVerdict {
      seen.push(ctx);
      log.push(view(ctx));
      if (hook === 'PREROUTING') {
        assert.equal(caller.run(hooks, 'OUTPUT', pkt, undefined, lo), NF_DROP);
        log.push(`after nested: ${view(ctx)}`);
        return NF_ACCEPT;
      }
      if (hook === 'OUTPUT') {
        assert.equal(caller.run(hooks, 'POSTROUTING', pkt, undefined, eth0), NF_ACCEPT);
        return NF_DROP;
      }
      return NF_ACCEPT;
    },
  };
  assert.equal(caller.run(hooks, 'PREROUTING', pkt, br, undefined, port), NF_ACCEPT);
  assert.equal(caller.run(hooks, 'FORWARD', pkt, eth0, br), NF_ACCEPT);
  assert.deepEqual(log, [
    'PREROUTING cni0 - veth1 -',
    'OUTPUT - lo - -',
    'POSTROUTING - eth0 - -',
    'after nested: PREROUTING cni0 - veth1 -',
    'FORWARD eth0 cni0 - -',
  ]);
  // Three depths, three objects; the next top-level call reuses depth 0's.
  assert.equal(new Set(seen.slice(0, 3)).size, 3);
  assert.equal(seen[3], seen[0]);
});

test('a hook that throws leaves the depth where it was', () => {
  const caller = new NfHookCaller();
  const seen: NfContext[] = [];
  const hooks: NetfilterHooks = {
    run(hook: NfHook, _p: Packet, ctx: NfContext): NfVerdict {
      seen.push(ctx);
      if (hook === 'INPUT') throw new Error('boom');
      return NF_ACCEPT;
    },
  };
  caller.run(hooks, 'OUTPUT', pkt, undefined, eth0);
  assert.throws(() => caller.run(hooks, 'INPUT', pkt, eth0, undefined), /boom/);
  caller.run(hooks, 'OUTPUT', pkt, undefined, eth0);
  assert.equal(seen[0], seen[1]);
  assert.equal(seen[1], seen[2]);
});
