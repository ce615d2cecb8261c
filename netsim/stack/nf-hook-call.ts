/**
 * Calling a netfilter hook without a context object per call (NF_HOOK builds its
 * `struct nf_hook_state` on the caller's stack; nf_hook_state_init fills it). A packet
 * passes ~10 hooks, so a literal per call was ~10 allocations per packet.
 *
 * One {@link NfContext} per nesting depth, refilled on every call: a hook can run
 * another hook before it returns (REJECT answers through OUTPUT, IPVS re-sends a
 * packet, a DROP's ICMP error), so the outer call's context must stay intact while the
 * inner one runs — the inner call takes the next depth's object. Every field is
 * written on each call (absent bridge ports as `undefined`), so the objects keep one
 * shape and a reused one carries nothing from its previous packet.
 *
 * Contract for {@link NetfilterHooks.run} implementations: the context is valid only
 * during the call; an operation that needs a field later copies it (flow-walks.ts
 * copies the devices). No operation in netsim/netfilter keeps the object itself;
 * tests/scenarios/netfilter-hook-points.test.ts checks that it is reused and intact
 * across nested calls.
 */
import type { NetDevice } from '../link/net-device.ts';
import type { Packet } from '../packet/packet.ts';
import type { NetfilterHooks, NfContext, NfHook, NfVerdict } from './netfilter-hooks.ts';

type MutableNfContext = { -readonly [K in keyof NfContext]-?: NfContext[K] | undefined };

export class NfHookCaller {
  private readonly ctxs: MutableNfContext[] = [];
  private depth = 0;

  /** `hooks.run(hook, pkt, ctx)` with this depth's context filled in. */
  run(hooks: NetfilterHooks, hook: NfHook, pkt: Packet, inDev: NetDevice | undefined, outDev: NetDevice | undefined, physIn?: NetDevice, physOut?: NetDevice): NfVerdict {
    const d = this.depth;
    let c = this.ctxs[d];
    if (c === undefined) {
      c = { hook, inDev, outDev, physIn, physOut };
      this.ctxs[d] = c;
    } else {
      c.hook = hook;
      c.inDev = inDev;
      c.outDev = outDev;
      c.physIn = physIn;
      c.physOut = physOut;
    }
    this.depth = d + 1;
    try {
      return hooks.run(hook, pkt, c as NfContext);
    } finally {
      this.depth = d;
    }
  }
}
