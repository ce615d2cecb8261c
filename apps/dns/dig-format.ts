/**
 * What `dig` (BIND 9.18) and `nslookup` (BIND's, as in the dnsutils image) print,
 * as functions of the messages exchanged, so in-pod tools (`kubectl exec … dig`)
 * and tests print what the real tools print.
 *
 * dig's record lines are BIND's master-file style: owner, TTL, class, type and
 * RDATA at tab stops of columns 24, 32, 40 and 48; a field that already passed
 * its column is followed by one space instead.
 */
import type { Answer } from 'dns-packet';
import type { DnsMessage } from './message.ts';
import { rcodeName } from './message.ts';
import { rdataText } from './rr-text.ts';

const OPCODES = ['QUERY', 'IQUERY', 'STATUS', 'RESERVED3', 'NOTIFY', 'UPDATE'];

/** Tab stops measured on the expanded width (a tab moves to the next multiple of 8). */
function column(line: string, field: string, col: number): string {
  const width = (t: string): number => {
    let w = 0;
    for (const ch of t) w = ch === '\t' ? (Math.floor(w / 8) + 1) * 8 : w + 1;
    return w;
  };
  let out = line;
  if (width(out) >= col) return `${out} ${field}`;
  while (width(out) < col) out += '\t';
  return out + field;
}

const abs = (n: string): string => (n === '' || n === '.' ? '.' : n.endsWith('.') ? n : `${n}.`);

/** One record as dig prints it. */
export function digRecord(rr: Answer): string {
  let line = abs(rr.name);
  line = column(line, String((rr as { ttl?: number }).ttl ?? 0), 24);
  line = column(line, 'IN', 32);
  line = column(line, rr.type, 40);
  return column(line, rdataText(rr), 48);
}

export interface DigRun {
  /** The command line as typed (`@10.96.0.10 kubernetes.default.svc.cluster.local`). */
  readonly args: string;
  readonly server: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
  readonly reply: DnsMessage;
  readonly replySize: number;
  readonly queryTimeMs: number;
  readonly when: Date;
  /** dig's version string (default the Debian 12 build). */
  readonly version?: string;
}

const FLAG_ORDER: Array<[keyof DnsMessage, string]> = [['qr', 'qr'], ['aa', 'aa'], ['tc', 'tc'], ['rd', 'rd'], ['ra', 'ra'], ['ad', 'ad'], ['cd', 'cd']];

/** `; <<>> DiG … <<>>` through `;; MSG SIZE  rcvd: N`, as dig prints a reply. */
export function formatDig(r: DigRun): string {
  const m = r.reply;
  const flags = FLAG_ORDER.filter(([k]) => m[k] === true).map(([, n]) => n).join(' ');
  const additional = m.additionals.length + (m.edns !== undefined ? 1 : 0);
  const out: string[] = [
    '',
    `; <<>> DiG ${r.version ?? '9.18.49-1~deb12u3-Debian'} <<>> ${r.args}`,
    ...(r.args.includes('@') ? ['; (1 server found)'] : []),
    ';; global options: +cmd',
    ';; Got answer:',
    `;; ->>HEADER<<- opcode: ${OPCODES[m.opcode] ?? `RESERVED${m.opcode}`}, status: ${rcodeName(m.rcode)}, id: ${m.id}`,
    `;; flags: ${flags}; QUERY: ${m.questions.length}, ANSWER: ${m.answers.length}, AUTHORITY: ${m.authorities.length}, ADDITIONAL: ${additional}`,
  ];
  if (m.rd && !m.ra) out.push(';; WARNING: recursion requested but not available');
  out.push('');
  if (m.edns !== undefined) out.push(';; OPT PSEUDOSECTION:', `; EDNS: version: 0, flags:${m.edns.do ? ' do' : ''}; udp: ${m.edns.udpSize}`);
  out.push(';; QUESTION SECTION:');
  for (const q of m.questions) out.push(column(column(`;${abs(q.name)}`, 'IN', 32), q.type, 40));
  const section = (title: string, rrs: readonly Answer[]): void => {
    if (rrs.length === 0) return;
    out.push('', `;; ${title} SECTION:`, ...rrs.map(digRecord));
  };
  section('ANSWER', m.answers);
  section('AUTHORITY', m.authorities);
  section('ADDITIONAL', m.additionals);
  out.push(
    '',
    `;; Query time: ${r.queryTimeMs} msec`,
    `;; SERVER: ${r.server}#${r.port}(${r.server}) (${r.transport.toUpperCase()})`,
    `;; WHEN: ${whenText(r.when)}`,
    `;; MSG SIZE  rcvd: ${r.replySize}`,
    '',
  );
  return out.join('\n') + '\n';
}

/** `dig +short`: the RDATA of each answer. */
export function formatDigShort(m: DnsMessage): string {
  return m.answers.map((a) => `${rdataText(a)}\n`).join('');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** dig's `;; WHEN:` (strftime "%a %b %d %H:%M:%S %Z %Y", UTC). */
function whenText(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} UTC ${d.getUTCFullYear()}`;
}

export interface NslookupAnswer {
  /** The name that answered (after the search list). */
  readonly name: string;
  readonly addresses: readonly string[];
  readonly authoritative: boolean;
}

/**
 * BIND nslookup's output for a name: the server block, then `Name:`/`Address:` per
 * address (preceded by `Non-authoritative answer:` when the answer was not
 * authoritative), or `** server can't find NAME: NXDOMAIN` (`SERVFAIL`, …).
 */
export function formatNslookup(server: string, asked: string, result: NslookupAnswer | { readonly error: string }): string {
  const out = [`Server:\t\t${server}`, `Address:\t${server}#53`, ''];
  if ('error' in result) {
    out.push(result.error === 'No answer' ? `*** Can't find ${asked}: No answer` : `** server can't find ${asked}: ${result.error}`, '');
    return out.join('\n') + '\n';
  }
  if (!result.authoritative) out.push('Non-authoritative answer:');
  for (const a of result.addresses) out.push(`Name:\t${result.name.replace(/\.$/, '')}`, `Address: ${a}`);
  out.push('');
  return out.join('\n') + '\n';
}

/** nslookup of an address: `in-addr.arpa\tname = host.` lines. */
export function formatNslookupReverse(server: string, reverseName: string, names: readonly string[] | { readonly error: string }): string {
  const out = [`Server:\t\t${server}`, `Address:\t${server}#53`, ''];
  if (!Array.isArray(names)) out.push(`** server can't find ${reverseName.replace(/\.$/, '')}: ${(names as { error: string }).error}`);
  else for (const n of names) out.push(`${reverseName.replace(/\.$/, '')}\tname = ${abs(n)}`);
  out.push('');
  return out.join('\n') + '\n';
}
