/**
 * The DNS part of a trace by name (`netsim trace --to name:…`): the resolver's
 * configuration, then every query of the search-path walk with its answer and the
 * hops of its packets (the DNAT to a CoreDNS pod, the reply un-NATed), then the
 * outcome. The JSON form carries the same, with the answers as master-file text.
 */
import type { TraceDns } from '../../cluster/trace-runner.ts';
import { formatInstant } from '../../netsim/time/scheduler.ts';
import { rcodeName } from '../../apps/dns/message.ts';
import { rrText } from '../../apps/dns/rr-text.ts';
import { leg } from './trace-report-text.ts';

const conf = (d: TraceDns): string => {
  const c = d.resolvConf;
  return [c.search.length > 0 ? `search ${c.search.join(' ')}` : '', ...c.nameservers.map((n) => `nameserver ${n}`), c.options.length > 0 ? `options ${c.options.join(' ')}` : ''].filter((x) => x !== '').join('; ') || 'no nameserver';
};

export function renderDnsTraceText(d: TraceDns): string {
  const r = d.result;
  const outcome = r.ok ? `${r.addresses.join(', ')}${r.canonical !== d.name ? ` (${r.canonical})` : ''} from ${r.source}` : `${r.error?.code}: ${r.error?.message}`;
  const lines = [`lookup ${d.name}: ${outcome} in ${formatInstant(r.doneAt - r.startedAt)} s`, `  resolv.conf: ${conf(d)}`];
  for (const q of d.queries) {
    const what = q.reply !== undefined ? `${rcodeName(q.reply.rcode)}${q.reply.tc ? ' (TC)' : ''}, ${q.reply.answers.length} answer${q.reply.answers.length === 1 ? '' : 's'}` : q.outcome;
    lines.push('', `  ${formatInstant(q.sentAt)}  ${q.qname} ${q.qtype} → ${q.server}/${q.transport}: ${what}${q.detail !== '' ? ` (${q.detail})` : ''}`);
    for (const a of q.reply?.answers ?? []) lines.push(`    ${rrText(a)}`);
    if (q.pkt !== 0) {
      lines.push(...leg('query', q.report, '    '));
      if (q.report.reply !== undefined) lines.push(...leg('answer', q.report.reply, '    '));
    }
  }
  return lines.join('\n') + '\n\n';
}

/** The JSON form (`netsim trace -o json`'s `dns`). */
export function dnsTraceJson(d: TraceDns): unknown {
  const r = d.result;
  return {
    name: d.name, resolvConf: d.resolvConf, ok: r.ok, ...(r.error !== undefined ? { error: r.error } : {}), addresses: r.addresses, canonical: r.canonical, source: r.source,
    startedAt: r.startedAt, doneAt: r.doneAt,
    queries: d.queries.map((q) => ({
      qname: q.qname, qtype: q.qtype, server: q.server, transport: q.transport, sentAt: q.sentAt, doneAt: q.doneAt, outcome: q.outcome,
      ...(q.reply !== undefined ? { rcode: rcodeName(q.reply.rcode), answers: q.reply.answers.map(rrText) } : {}), ...(q.detail !== '' ? { detail: q.detail } : {}),
      hops: q.report.hops, ...(q.report.reply !== undefined ? { reply: q.report.reply } : {}),
    })),
  };
}
