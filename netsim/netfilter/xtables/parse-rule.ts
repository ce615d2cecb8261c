/**
 * One rule specification (`-s … -m … -j …`) parsed the way iptables parses it:
 * core options anywhere, `!` before the option it negates, `-m NAME` loads a
 * match, and an option goes to the most recently loaded match that knows it —
 * else `-p tcp|udp|icmp` loads that protocol's match implicitly, as libxtables
 * does. Options after `-j` go to the target first. iptables-nft then folds every
 * tcp (or udp) match of a rule into the first one, which is what iptables-save shows.
 */
import { argError } from './errors.ts';
import type { ArgReader, MatchDraft, MatchModule } from './matches.ts';
import { MATCH_MODULES, implicitProtoModule } from './matches.ts';
import type { AddrMatch, IfaceMatch, Match, Rule, TableName, Target, TcpUdpMatch } from './model.ts';
import type { TargetDraft, TargetModule } from './targets.ts';
import { TARGET_MODULES, UNMODELLED_TARGETS } from './targets.ts';
import { parseAddrMask, parseDec, parseIface, parseProto } from './values.ts';

export interface RuleParseOptions {
  readonly table: TableName;
  readonly setExists: ((name: string) => boolean) | undefined;
}

export interface ParsedRule {
  readonly rule: Rule;
  /** Counters given with `-c PKTS BYTES`. */
  readonly counters?: { readonly packets: number; readonly bytes: number };
}

const CORE: Record<string, string> = {
  '-s': 's', '--source': 's', '--src': 's',
  '-d': 'd', '--destination': 'd', '--dst': 'd',
  '-p': 'p', '--protocol': 'p',
  '-i': 'i', '--in-interface': 'i',
  '-o': 'o', '--out-interface': 'o',
  '-j': 'j', '--jump': 'j',
  '-g': 'g', '--goto': 'g',
  '-m': 'm', '--match': 'm',
  '-c': 'c', '--set-counters': 'c',
  '-f': 'f', '--fragment': 'f',
};

/** Chain names iptables refuses (they are targets or too long). */
export function checkChainName(name: string): void {
  if (name.length > 28) throw argError('IPT_BAD_ARG', `chain name \`${name}' too long (must be under 29 chars)`);
  if (name.length === 0 || name.startsWith('-') || name.startsWith('!')) throw argError('IPT_BAD_ARG', `Invalid chain name \`${name}'`);
  if (TARGET_MODULES.has(name) || UNMODELLED_TARGETS.has(name)) throw argError('IPT_BAD_ARG', `chain name may not clash with target name`);
}

export function parseRuleSpec(args: readonly string[], opts: RuleParseOptions): ParsedRule {
  let i = 0;
  const reader = (): ArgReader => ({
    next(opt) {
      const a = args[i + 1];
      if (a === undefined) {
        throw argError('IPT_BAD_ARG', `option "${opt}" requires an argument`);
      }
      i++;
      return a;
    },
  });

  let src: AddrMatch | undefined, dst: AddrMatch | undefined;
  let inIface: IfaceMatch | undefined, outIface: IfaceMatch | undefined;
  let proto = 0, protoInvert = false, protoSeen = false;
  let counters: { packets: number; bytes: number } | undefined;
  const drafts: { mod: MatchModule; draft: MatchDraft }[] = [];
  let target: { mod: TargetModule; draft: TargetDraft } | undefined;
  let jumpTo: Target | undefined;
  let invert = false;

  const seenCore = new Set<string>();
  const coreOnce = (k: string, tok: string) => {
    if (seenCore.has(k)) throw argError('IPT_BAD_ARG', `multiple ${tok} flags not allowed`);
    seenCore.add(k);
  };

  for (; i < args.length; i++) {
    const tok = args[i] as string;
    if (tok === '!') {
      if (invert) throw argError('IPT_BAD_ARG', "multiple consecutive ! not allowed");
      invert = true;
      continue;
    }
    if (!tok.startsWith('-') || tok === '-') throw argError('IPT_PARSE', `Bad argument \`${tok}'`);
    const core = CORE[tok];
    if (core !== undefined) {
      const r = reader();
      switch (core) {
        case 's': case 'd': {
          coreOnce(core, tok);
          const am = parseAddrMask(r.next(tok));
          // A zero-length prefix matches everything: iptables stores nothing.
          const v = am.mask === 0 && !invert ? undefined : { ...am, invert };
          if (core === 's') src = v; else dst = v;
          break;
        }
        case 'i': case 'o': {
          coreOnce(core, tok);
          const v = { name: parseIface(r.next(tok)), invert };
          if (core === 'i') inIface = v; else outIface = v;
          break;
        }
        case 'p':
          coreOnce(core, tok);
          proto = parseProto(r.next(tok));
          protoInvert = invert && proto !== 0;
          if (invert && proto === 0) throw argError('IPT_BAD_ARG', 'rule would never match protocol');
          protoSeen = true;
          break;
        case 'm': {
          if (invert) throw argError('IPT_BAD_ARG', 'unexpected ! flag before --match');
          const name = r.next(tok);
          const mod = MATCH_MODULES.get(name);
          if (!mod) throw argError('IPT_UNKNOWN_MATCH', `Couldn't load match \`${name}':No such file or directory`);
          drafts.push({ mod, draft: mod.create() });
          break;
        }
        case 'j': case 'g': {
          if (invert) throw argError('IPT_BAD_ARG', `cannot have ! before ${tok}`);
          if (target || jumpTo) throw argError('IPT_BAD_ARG', 'multiple -j flags not allowed');
          const name = r.next(tok);
          const mod = core === 'j' ? TARGET_MODULES.get(name) : undefined;
          if (mod) target = { mod, draft: mod.create() };
          else if (core === 'j' && UNMODELLED_TARGETS.has(name)) {
            throw argError('IPT_UNKNOWN_TARGET', `target \`${name}' is not modelled by the emulator`);
          } else if (core === 'g' && (TARGET_MODULES.has(name) || UNMODELLED_TARGETS.has(name))) {
            throw argError('IPT_BAD_ARG', `goto '${name}' is not a chain`);
          } else {
            checkChainName(name);
            jumpTo = { kind: core === 'j' ? 'jump' : 'goto', chain: name };
          }
          break;
        }
        case 'c': {
          const p = parseDec(r.next(tok), Number.MAX_SAFE_INTEGER);
          const b = parseDec(r.next(tok), Number.MAX_SAFE_INTEGER);
          if (p === undefined || b === undefined) throw argError('IPT_BAD_ARG', 'iptables-restore: -c packet counter not numeric');
          counters = { packets: p, bytes: b };
          break;
        }
        default:
          throw argError('IPT_BAD_ARG', 'fragment matching (-f) is not modelled by the emulator');
      }
      invert = false;
      continue;
    }
    const r = reader();
    if (target && target.mod.options.has(tok)) {
      target.draft.option(tok, invert, r);
    } else {
      let owner: MatchDraft | undefined;
      for (let k = drafts.length - 1; k >= 0 && !owner; k--) {
        const d = drafts[k] as { mod: MatchModule; draft: MatchDraft };
        if (d.mod.options.has(tok)) owner = d.draft;
      }
      if (!owner) {
        const imp = protoSeen && !protoInvert ? implicitProtoModule(proto) : undefined;
        if (!imp || !imp.options.has(tok)) throw argError('IPT_UNKNOWN_OPTION', `unknown option "${tok}"`);
        owner = imp.create();
        drafts.push({ mod: imp, draft: owner });
      }
      owner.option(tok, invert, r);
    }
    invert = false;
  }
  if (invert) throw argError('IPT_BAD_ARG', "! at the end of the rule");

  const facts = { proto, protoInvert, setExists: opts.setExists };
  const matches = foldTcpUdp(drafts.map((d) => d.draft.finish(facts)));
  const tgt: Target = target ? target.draft.finish({ table: opts.table, proto, protoInvert }) : jumpTo ?? { kind: 'none' };
  const rule: Rule = {
    ...(src ? { src } : {}), ...(dst ? { dst } : {}), ...(inIface ? { inIface } : {}), ...(outIface ? { outIface } : {}),
    proto, protoInvert, matches, target: tgt, packets: 0, bytes: 0,
  };
  return counters ? { rule, counters } : { rule };
}

/** iptables-nft: all port/flag tests of one protocol come back as one match, at the first one's place. */
function foldTcpUdp(ms: Match[]): Match[] {
  const out: Match[] = [];
  for (const m of ms) {
    if (m.kind === 'tcp' || m.kind === 'udp') {
      const k = out.findIndex((o) => o.kind === m.kind);
      if (k >= 0) {
        const a = out[k] as TcpUdpMatch;
        out[k] = {
          kind: m.kind,
          ...(m.sport ? { sport: m.sport, sportInvert: m.sportInvert } : a.sport ? { sport: a.sport, sportInvert: a.sportInvert } : { sportInvert: false }),
          ...(m.dport ? { dport: m.dport, dportInvert: m.dportInvert } : a.dport ? { dport: a.dport, dportInvert: a.dportInvert } : { dportInvert: false }),
          ...(m.flags ? { flags: m.flags } : a.flags ? { flags: a.flags } : {}),
        } as TcpUdpMatch;
        continue;
      }
    }
    out.push(m);
  }
  return out;
}

export function validateChainForRule(rule: Rule, chain: string, builtin: boolean): void {
  if (!builtin) return;
  if (rule.outIface && (chain === 'INPUT' || chain === 'PREROUTING')) throw argError('IPT_BAD_ARG', `Can't use -o with ${chain}`);
  if (rule.inIface && (chain === 'OUTPUT' || chain === 'POSTROUTING')) throw argError('IPT_BAD_ARG', `Can't use -i with ${chain}`);
}
