/**
 * What an in-process plugin gets besides its environment and stdin: the node it runs
 * on. Real plugins reach the same things through the kernel and the filesystem; here
 * they are explicit so that nothing is global:
 * - `ns`: the node's root network namespace (where bridges and host veths live);
 * - `netns`: CNI_NETNS paths (`/var/run/netns/<name>`) → NetNamespace;
 * - `iptables`: an iptables-restore / iptables-save pair for the node;
 * - `rng`: the run's random stream for this node (veth names, MACs);
 * - `fs`: files the plugins keep (host-local's /var/lib/cni/networks, flannel's
 *   /run/flannel/subnet.env, libcni's result cache);
 * - `plugins`: the plugin binaries found in CNI_PATH, by type (delegation).
 */
import type { NetNamespace } from '../netsim/stack/net-namespace.ts';
import type { Rng } from '../netsim/time/rng.ts';
import type { CniPlugin } from './plugin.ts';

/** The node's iptables as the plugins use it: load rules, and read them back to check what exists (`iptables -S/-C`). */
export interface IptablesRestorer {
  restore(text: string, opts: { noflush: boolean }): void;
  /** `iptables-save -t TABLE`. */
  save(opts: { table: 'nat' | 'filter' }): string;
}

/** A minimal file store: paths to text. */
export interface HostFs {
  read(path: string): string | undefined;
  write(path: string, data: string): void;
  /** Remove a file; false when it was not there. */
  remove(path: string): boolean;
  /** Names directly under `dir`. */
  list(dir: string): string[];
}

export class MemoryFs implements HostFs {
  private readonly files = new Map<string, string>();

  read(path: string): string | undefined {
    return this.files.get(path);
  }

  write(path: string, data: string): void {
    this.files.set(path, data);
  }

  remove(path: string): boolean {
    return this.files.delete(path);
  }

  list(dir: string): string[] {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    const out = new Set<string>();
    for (const k of this.files.keys()) {
      if (!k.startsWith(prefix)) continue;
      const rest = k.slice(prefix.length);
      out.add(rest.split('/')[0] as string);
    }
    return [...out].sort();
  }

  /** Every path, sorted (for tests and views). */
  paths(): string[] {
    return [...this.files.keys()].sort();
  }
}

/** Network namespace paths as a container runtime creates them (`ip netns add NAME` → /var/run/netns/NAME). */
export class NetnsRegistry {
  private readonly byPath = new Map<string, NetNamespace>();

  static pathFor(name: string): string {
    return `/var/run/netns/${name}`;
  }

  add(path: string, ns: NetNamespace): void {
    if (this.byPath.has(path)) throw new Error(`netns ${path} already exists`);
    this.byPath.set(path, ns);
  }

  get(path: string): NetNamespace | undefined {
    return this.byPath.get(path) ?? (path.startsWith('/run/netns/') ? this.byPath.get(`/var${path}`) : undefined);
  }

  delete(path: string): boolean {
    return this.byPath.delete(path);
  }

  paths(): string[] {
    return [...this.byPath.keys()].sort();
  }
}

export interface CniHost {
  readonly ns: NetNamespace;
  readonly netns: NetnsRegistry;
  readonly iptables: IptablesRestorer;
  readonly rng: Rng;
  readonly fs: HostFs;
  readonly plugins: Readonly<Record<string, CniPlugin>>;
}

// ---------------------------------------------------------------- iptables-save text helpers

/** Whether `iptables-save` text declares `chain`. */
export function saveHasChain(save: string, chain: string): boolean {
  return save.split('\n').some((l) => l.startsWith(`:${chain} `));
}

/** Whether `iptables-save` text holds exactly the rule line `-A CHAIN SPEC`. */
export function saveHasRule(save: string, chain: string, spec: string): boolean {
  const want = `-A ${chain} ${spec}`;
  return save.split('\n').some((l) => l === want);
}

/** The rule specs of `chain` in `iptables-save` text, in order. */
export function saveRules(save: string, chain: string): string[] {
  const p = `-A ${chain} `;
  return save.split('\n').filter((l) => l.startsWith(p)).map((l) => l.slice(p.length));
}

/**
 * A stand-in iptables for tests: records every restore text and keeps a small model
 * (chains and rule lines per table) so `save` answers like iptables-save. It accepts
 * `:CHAIN`, `-A`, `-I`, `-D`, `-F`, `-X` and refuses what the real tool refuses for
 * those (unknown chain, deleting a missing rule).
 */
export class RecordingRestorer implements IptablesRestorer {
  readonly texts: string[] = [];
  private readonly tables = new Map<string, Map<string, string[]>>();
  private static readonly BUILTIN: Readonly<Record<string, readonly string[]>> = {
    nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
    filter: ['INPUT', 'FORWARD', 'OUTPUT'],
    mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
    raw: ['PREROUTING', 'OUTPUT'],
  };

  restore(text: string, opts: { noflush: boolean }): void {
    const staged = new Map<string, Map<string, string[]>>();
    for (const [k, v] of this.tables) staged.set(k, new Map([...v].map(([c, r]) => [c, [...r]])));
    let cur: Map<string, string[]> | undefined;
    let curName = '';
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      const fail = (m: string): never => {
        throw new Error(`iptables-restore: line ${i + 1} failed: ${m}`);
      };
      if (line === '' || line.startsWith('#')) return;
      if (line.startsWith('*')) {
        curName = line.slice(1);
        const builtin = RecordingRestorer.BUILTIN[curName] ?? fail(`unknown table ${curName}`);
        let t = staged.get(curName);
        if (t === undefined || !opts.noflush) {
          t = new Map(builtin.map((c) => [c, [] as string[]]));
          staged.set(curName, t);
        }
        cur = t;
        return;
      }
      const t = cur ?? fail('no table');
      if (line === 'COMMIT') {
        cur = undefined;
        return;
      }
      if (line.startsWith(':')) {
        const name = line.slice(1).split(/\s+/)[0] as string;
        t.set(name, []);
        return;
      }
      const m = /^(-[AIDFX])\s+(\S+)(?:\s+(.*))?$/.exec(line) ?? fail(`bad line ${line}`);
      const [, op, chain, rest] = m as unknown as [string, string, string, string | undefined];
      const rules = t.get(chain) ?? fail(`chain ${chain} does not exist`);
      if (op === '-A') rules.push(rest ?? '');
      else if (op === '-I') rules.unshift((rest ?? '').replace(/^\d+\s+/, ''));
      else if (op === '-D') {
        const at = rules.indexOf(rest ?? '');
        if (at < 0) fail(`rule not found in ${chain}: ${rest ?? ''}`);
        rules.splice(at, 1);
      } else if (op === '-F') rules.length = 0;
      else if (op === '-X') {
        if ((RecordingRestorer.BUILTIN[curName] ?? []).includes(chain)) fail(`cannot delete built-in chain ${chain}`);
        t.delete(chain);
      }
    });
    this.tables.clear();
    for (const [k, v] of staged) this.tables.set(k, v);
    this.texts.push(text);
  }

  save(opts: { table: 'nat' | 'filter' }): string {
    const t = this.tables.get(opts.table);
    if (t === undefined) return '';
    const builtin = RecordingRestorer.BUILTIN[opts.table] ?? [];
    const chains = [...t.keys()];
    const user = chains.filter((c) => !builtin.includes(c)).sort();
    const lines = [`*${opts.table}`];
    for (const c of builtin) lines.push(`:${c} ACCEPT [0:0]`);
    for (const c of user) lines.push(`:${c} - [0:0]`);
    for (const c of [...builtin, ...user]) for (const r of t.get(c) ?? []) lines.push(`-A ${c} ${r}`);
    lines.push('COMMIT', '');
    return lines.join('\n');
  }
}
