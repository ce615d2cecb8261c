/**
 * A program a user runs in a pod (`kubectl exec POD -- curl …`): argv in, text out
 * on stdout and stderr, an exit status back, time spent on the namespace's virtual
 * clock. Programs see what a real one sees: the pod's sockets and the files the
 * kubelet writes (/etc/hosts, /etc/resolv.conf, /etc/hostname).
 */
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import { tryParseIpv4 } from '../../netsim/wire/addr.ts';

export interface ProgramContext {
  readonly ns: NetNamespace;
  /** argv[0] is the program's name. */
  readonly argv: readonly string[];
  /** Files the program can read, by absolute path. */
  readonly files: ReadonlyMap<string, string>;
  stdout(text: string): void;
  stderr(text: string): void;
  /**
   * Resolve a host name as the C library would (getaddrinfo): undefined when the
   * name does not exist. Given by whoever runs the program (the pod's resolver).
   */
  resolve(name: string): Promise<Ipv4Addr | undefined>;
}

export type Program = (ctx: ProgramContext) => Promise<number>;

/** Resolve from /etc/hosts only (what a resolver without DNS does; `files` in nsswitch). */
export function hostsLookup(files: ReadonlyMap<string, string>, name: string): Ipv4Addr | undefined {
  const ip = tryParseIpv4(name);
  if (ip !== undefined) return ip;
  for (const line of (files.get('/etc/hosts') ?? '').split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    if (fields.length < 2) continue;
    const addr = tryParseIpv4(fields[0] as string);
    if (addr !== undefined && fields.slice(1).includes(name)) return addr;
  }
  return undefined;
}

/** Resolve in virtual time `ns` from now, on the namespace's clock. */
export function sleep(ns: NetNamespace, durationNs: number): Promise<void> {
  return new Promise((done) => {
    ns.sim.clock.after(durationNs, done);
  });
}

/** getopt-style short options: `-sv` = `-s -v`; `takesValue` options eat the rest of the word or the next word. */
export function shortOptions(args: readonly string[], takesValue: string, known: string): { flags: Set<string>; values: Map<string, string>; rest: string[]; bad?: string } {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-' || a.startsWith('--')) {
      rest.push(a);
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const c = a[j] as string;
      if (takesValue.includes(c)) {
        const v = j + 1 < a.length ? a.slice(j + 1) : args[++i];
        if (v === undefined) return { flags, values, rest, bad: `option requires an argument -- '${c}'` };
        values.set(c, v);
        break;
      }
      if (!known.includes(c)) return { flags, values, rest, bad: `invalid option -- '${c}'` };
      flags.add(c);
    }
  }
  return { flags, values, rest };
}
