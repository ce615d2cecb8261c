/**
 * The one text form of a hop, shared by `netsim trace` (the request and reply legs)
 * and `netsim demo` (every event of a flow): virtual time, where (node, or
 * node/pod namespace), who decided and what, then the detail — for netfilter the
 * table, chain and rule number and the target (`nat KUBE-SEP-…:2 -j DNAT`).
 *
 * On a terminal (`width` given) the detail wraps under itself instead of running
 * past the edge; files and pipes get one line per hop, for grep. `colour` paints
 * verdicts (green delivered/ACCEPT, red drops/DROP/REJECT, yellow ICMP errors) with
 * ANSI SGR codes; the caller decides, honouring NO_COLOR (https://no-color.org).
 */
import type { Hop } from '../../netsim/trace/report.ts';
import { formatInstant } from '../../netsim/time/scheduler.ts';

export interface TextStyle {
  /** Terminal columns to wrap at; undefined: never wrap. */
  readonly width?: number;
  readonly colour?: boolean;
}

const SGR = { red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', bold: '\x1b[1m', reset: '\x1b[0m' } as const;

export function paint(s: string, colour: keyof typeof SGR, style: TextStyle): string {
  return style.colour === true ? `${SGR[colour]}${s}${SGR.reset}` : s;
}

/** The style for standard output: wrap at the terminal's width and colour only on a terminal, no colour when NO_COLOR is set. */
export function stdoutStyle(): TextStyle {
  const tty = process.stdout.isTTY === true;
  return { ...(tty && process.stdout.columns > 0 ? { width: process.stdout.columns } : {}), colour: tty && (process.env['NO_COLOR'] ?? '') === '' };
}

export function where(h: Hop): string {
  return h.netns === h.node ? h.node : `${h.node}/${h.netns}`;
}

function detailOf(h: Hop): string {
  return h.rule !== undefined ? `${h.rule} ${h.detail}` : h.detail;
}

function colourOf(h: Hop): keyof typeof SGR | undefined {
  if (h.component === 'drop' || / -j (DROP|REJECT)$|policy (DROP|REJECT)$/.test(detailOf(h))) return 'red';
  if (h.component === 'icmp') return 'yellow';
  if (h.component === 'socket') return 'green';
  return undefined;
}

/** Split `text` into pieces of at most `n` characters, at spaces where possible. */
function wrap(text: string, n: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (rest.length > n) {
    const cut = rest.lastIndexOf(' ', n);
    const at = cut > n / 3 ? cut : n;
    out.push(rest.slice(0, at));
    rest = rest.slice(at).trimStart();
  }
  out.push(rest);
  return out;
}

/** One hop per line (more when wrapped), `whereWidth` aligning the location column. */
export function hopLines(hops: readonly Hop[], style: TextStyle = {}, indent = ''): string[] {
  const whereWidth = Math.max(8, ...hops.map((h) => where(h).length));
  return hops.flatMap((h) => {
    const comp = h.device !== undefined && h.component !== 'device' && h.component !== h.device ? `${h.component}(${h.device})` : h.device ?? h.component;
    const head = `${indent}${formatInstant(h.t)}  ${where(h).padEnd(whereWidth)}  ${`${comp} ${h.action}`.padEnd(26)} `;
    const room = style.width !== undefined ? style.width - head.length : Infinity;
    const c = colourOf(h);
    let lines: string[];
    if (room >= 20) {
      const pieces = wrap(detailOf(h), room);
      lines = [head + (pieces[0] ?? ''), ...pieces.slice(1).map((p) => ' '.repeat(head.length) + p)];
    } else {
      // Too narrow a terminal for the columns: the unpadded head, then the detail under a short indent.
      const w = Math.max(20, (style.width ?? 80) - 6);
      lines = [...wrap(`${indent}${formatInstant(h.t)}  ${where(h)}  ${comp} ${h.action}`, w + 6), ...wrap(detailOf(h), w).map((p) => `      ${p}`)];
    }
    return c !== undefined ? lines.map((l) => paint(l, c, style)) : lines;
  });
}
