/**
 * kube-router's ipset handler (pkg/utils/ipset.go, v2.6.3) as the network policy
 * controller drives it: `Save` reads `ipset save` (initval scrubbed), `RefreshSet`
 * replaces a set's entries in memory (a new set gets `TYPE timeout 0`), and
 * `RestoreSets` writes BuildIPSetRestore's script — per set options one temporary
 * set `TMP-` + base32(sha1("tmp:" + options)[:10]), filled, swapped with the real
 * set and flushed, temporaries destroyed at the end — through `ipset restore -exist`.
 */
import { createHash } from 'node:crypto';
import { base32 } from '../netsim/tools/base32.ts';

/** The node's `ipset` binary as the controller uses it. */
export interface IpsetCommands {
  /** `ipset save`. */
  save(): string;
  /** `ipset restore -exist` (atomic). */
  restore(text: string): void;
  /** `ipset destroy NAME` (refused while an iptables rule references the set). */
  destroy(name: string): void;
}

interface SetState {
  /** Options after the name: type first (`hash:ip timeout 0`, or what `ipset save` printed). */
  options: string[];
  /** Each entry's words (`10.244.1.2 timeout 0`). */
  entries: string[][];
}

const tmpName = (options: string): string => `TMP-${base32(createHash('sha1').update(`tmp:${options}`).digest().subarray(0, 10))}`;

export class IpsetHandler {
  private sets = new Map<string, SetState>();

  constructor(private readonly cmd: IpsetCommands) {}

  /** Save: the kernel's sets (IPv4 ones: this handler is the IPv4 family's) with their entries. */
  save(): void {
    const sets = new Map<string, SetState>();
    for (const line of this.cmd.save().split('\n')) {
      const w = line.trim().split(/\s+/);
      if (w[1] === undefined || w[1].startsWith('inet6:')) continue;
      if (w[0] === 'create') {
        const opts = w.slice(2);
        const iv = opts.indexOf('initval');
        if (iv >= 0) opts.splice(iv, 2);
        sets.set(w[1], { options: opts, entries: [] });
      } else if (w[0] === 'add') sets.get(w[1])?.entries.push(w.slice(2));
    }
    this.sets = sets;
  }

  names(): string[] {
    return [...this.sets.keys()];
  }

  /** RefreshSet: the set's entries become `entries` (created with `TYPE timeout 0` when new). */
  refreshSet(name: string, entries: readonly (readonly string[])[], type: string): void {
    const s = this.sets.get(name);
    if (s === undefined) this.sets.set(name, { options: [type, 'timeout', '0'], entries: entries.map((e) => [...e]) });
    else s.entries = entries.map((e) => [...e]);
  }

  /** BuildIPSetRestore for the named sets, sorted by name. */
  buildRestore(include: Iterable<string>): string {
    const wanted = new Set(include);
    const names = [...this.sets.keys()].filter((n) => wanted.has(n)).sort();
    const tmps = new Map<string, string>();
    const out: string[] = [];
    for (const name of names) {
      const s = this.sets.get(name) as SetState;
      const options = s.options.join(' ');
      let tmp = tmps.get(options);
      if (tmp === undefined) {
        tmp = tmpName(options);
        out.push(`create ${tmp} ${options}`, `flush ${tmp}`);
        tmps.set(options, tmp);
      }
      for (const e of s.entries) out.push(`add ${tmp} ${e.join(' ')}`);
      out.push(`create ${name} ${options}`, `swap ${tmp} ${name}`, `flush ${tmp}`);
    }
    for (const tmp of [...tmps.values()].sort()) out.push(`destroy ${tmp}`);
    return out.map((l) => `${l}\n`).join('');
  }

  /** RestoreSets: `ipset restore -exist` of the named sets; returns the script. */
  restoreSets(include: Iterable<string>): string {
    const text = this.buildRestore(include);
    this.cmd.restore(text);
    return text;
  }

  destroy(name: string): void {
    this.cmd.destroy(name);
    this.sets.delete(name);
  }
}
