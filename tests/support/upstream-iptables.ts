/**
 * The comparison helpers of upstream kube-proxy's iptables proxier tests, with the
 * same rules: sortIPTablesRules (the canonical order the expected rulesets are
 * written in), checkIPTablesRuleJumps (every jump lands in a created, non-empty
 * chain; no created chain goes unused) and the chain extraction of
 * assertIPTablesChainEqual. Inputs are `iptables-restore` texts.
 */

interface DumpChain {
  readonly name: string;
  readonly header: string;
  readonly rules: string[];
  deleted: boolean;
  /** Declared by a `:CHAIN` line (rather than only named by `-A`/`-X`). */
  declared: boolean;
}
interface DumpTable {
  readonly name: string;
  readonly chains: DumpChain[];
}

const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
const KUBE_SERVICES = 'KUBE-SERVICES';

export function parseDump(text: string): DumpTable[] {
  const tables: DumpTable[] = [];
  let cur: DumpTable | undefined;
  const chainOf = (name: string): DumpChain => {
    let c = cur?.chains.find((x) => x.name === name);
    if (c === undefined) {
      c = { name, header: `:${name} - [0:0]`, rules: [], deleted: false, declared: false };
      cur?.chains.push(c);
    }
    return c;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line === 'COMMIT') continue;
    if (line.startsWith('*')) {
      cur = { name: line.slice(1), chains: [] };
      tables.push(cur);
    } else if (line.startsWith(':')) {
      const name = line.slice(1, line.indexOf(' '));
      const known = cur?.chains.find((c) => c.name === name);
      if (known !== undefined) known.declared = true;
      else cur?.chains.push({ name, header: line, rules: [], deleted: false, declared: true });
    } else if (line.startsWith('-A ')) chainOf(line.split(' ')[1] as string).rules.push(line);
    else if (line.startsWith('-X ')) chainOf(line.split(' ')[1] as string).deleted = true;
  }
  return tables;
}

function render(tables: readonly DumpTable[]): string {
  const out: string[] = [];
  for (const t of tables) {
    out.push(`*${t.name}`);
    for (const c of t.chains) out.push(c.header);
    for (const c of t.chains) out.push(...c.rules);
    for (const c of t.chains) if (c.deleted) out.push(`-X ${c.name}`);
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}

function comment(rule: string): string | undefined {
  const m = /--comment (?:"([^"]*)"|(\S+))/.exec(rule);
  return m === null ? undefined : (m[1] ?? m[2]);
}

/** upstream orderByCommentServiceName: the service name is the comment up to the first space or colon. */
function serviceOf(rule: string): string | undefined {
  const c = comment(rule);
  if (c === undefined) return undefined;
  const i = c.search(/[ :]/);
  return i === -1 ? c : c.slice(0, i);
}

function stableSort<T>(xs: T[], less: (a: T, b: T) => boolean): void {
  const idx = xs.map((x, i) => [x, i] as const);
  idx.sort(([a, i], [b, j]) => (less(a, b) ? -1 : less(b, a) ? 1 : i - j));
  for (let k = 0; k < xs.length; k++) xs[k] = (idx[k] as readonly [T, number])[0];
}

const byService = (a: string, b: string): boolean => {
  const x = serviceOf(a);
  const y = serviceOf(b);
  return x !== undefined && y !== undefined && x < y;
};

/** upstream sortIPTablesRules. */
export function sortIPTablesRules(text: string): string {
  const tables = parseDump(text);
  tables.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rank = (n: string): number => (n === KUBE_NODEPORTS ? 0 : n === KUBE_SERVICES ? 1 : n.startsWith('KUBE-') ? 2 : 3);
  for (const t of tables) {
    t.chains.sort((a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const c of t.chains) {
      if (c.name === KUBE_NODEPORTS || (c.name === KUBE_SERVICES && t.name === 'filter')) stableSort(c.rules, byService);
      if (c.name === KUBE_SERVICES && t.name === 'nat') {
        const last = (r: string): boolean => comment(r)?.includes('must be the last rule') === true;
        stableSort(c.rules, (a, b) => (last(a) ? false : last(b) ? true : byService(a, b)));
      }
    }
  }
  return render(tables);
}

/** upstream checkIPTablesRuleJumps; returns the error text or undefined. */
export function checkIPTablesRuleJumps(text: string): string | undefined {
  const builtinTargets = new Set(['ACCEPT', 'REJECT', 'DROP', 'MARK', 'RETURN', 'DNAT', 'SNAT', 'MASQUERADE']);
  const alwaysCreated = new Set(['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-FORWARD', 'KUBE-MARK-MASQ', 'KUBE-PROXY-FIREWALL', 'KUBE-FIREWALL']);
  for (const t of parseDump(text)) {
    const created = new Set(t.chains.filter((c) => c.declared && !c.deleted).map((c) => c.name));
    const filled = new Set(t.chains.filter((c) => c.rules.length > 0).map((c) => c.name));
    const jumped = new Set<string>();
    for (const c of t.chains) for (const r of c.rules) {
      const m = / -j (\S+)/.exec(r);
      if (m !== null && !builtinTargets.has(m[1] as string)) jumped.add(m[1] as string);
    }
    const missing = [...jumped, ...filled].filter((c) => !created.has(c));
    if (missing.length > 0) return `some chains in ${t.name} are used but were not created: ${[...new Set(missing)].join(' ')}`;
    const empty = [...jumped].filter((c) => !filled.has(c) && c !== KUBE_NODEPORTS);
    if (empty.length > 0) return `some chains in ${t.name} are jumped to but have no rules: ${empty.join(' ')}`;
    const extra = [...created].filter((c) => !jumped.has(c) && !alwaysCreated.has(c));
    if (extra.length > 0) return `some chains in ${t.name} are created but not used: ${extra.join(' ')}`;
  }
  return undefined;
}

/** The rules of one chain of a restore text, one per line (assertIPTablesChainEqual). */
export function chainRules(text: string, table: string, chain: string): string {
  const c = parseDump(text).find((t) => t.name === table)?.chains.find((x) => x.name === chain);
  return (c?.rules ?? []).map((r) => `${r}\n`).join('');
}
