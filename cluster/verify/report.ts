/** Text and JSON renderings of a {@link VerifyReport}. */
import type { Disagreement, SideView, VerifyReport } from './verify.ts';

/** The `-o json` document: the Contract's four fields first, then details. */
export function reportJson(r: VerifyReport): string {
  return JSON.stringify({ probes: r.probes, agreed: r.agreed, skipped: r.skipped, disagreements: r.disagreements }, null, 2) + '\n';
}

function pct(a: number, n: number): string {
  return n === 0 ? '—' : `${((100 * a) / n).toFixed(1)}%`;
}

function isSide(v: Disagreement['emulator']): v is SideView {
  return 'outcome' in v;
}

function columns(left: readonly string[], right: readonly string[], width: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const l = left[i] ?? '';
    const r = right[i] ?? '';
    const mark = l === r ? ' ' : '≠';
    out.push(`    ${l.length > width ? `${l.slice(0, width - 1)}…` : l.padEnd(width)} ${mark} ${r}`);
  }
  return out;
}

export function reportText(r: VerifyReport): string {
  const lines: string[] = [];
  lines.push(`netsim verify: node ${r.node} against its real twin (${r.twinNamespaces} Linux namespaces, real iptables-restore, raw sockets)`);
  lines.push('');
  lines.push(`  ${'SUITE'.padEnd(18)} ${'PROBES'.padStart(6)} ${'AGREED'.padStart(6)} ${'SKIPPED'.padStart(7)}  AGREEMENT`);
  for (const s of r.suites) lines.push(`  ${s.suite.padEnd(18)} ${String(s.probes).padStart(6)} ${String(s.agreed).padStart(6)} ${String(s.skipped).padStart(7)}  ${pct(s.agreed, s.probes - s.skipped)}`);
  lines.push(`  ${'total'.padEnd(18)} ${String(r.probes).padStart(6)} ${String(r.agreed).padStart(6)} ${String(r.skipped).padStart(7)}  ${pct(r.agreed, r.probes - r.skipped)}`);
  for (const n of r.notVerifiable) lines.push(`  not verifiable here: ${n}`);
  for (const u of r.unconfirmed ?? []) lines.push(`  shown once, not again in a fresh draw (not counted): ${u}`);
  lines.push('');
  if (r.disagreements.length === 0) {
    lines.push(`every probe agrees (${r.agreed} of ${r.probes - r.skipped} checked${r.skipped > 0 ? `, ${r.skipped} skipped` : ''})`);
    return lines.join('\n') + '\n';
  }
  lines.push(`${r.disagreements.length} disagreement${r.disagreements.length === 1 ? '' : 's'}:`);
  for (const d of r.disagreements) {
    lines.push('');
    lines.push(`- [${d.suite}]${d.probe !== undefined ? ` probe ${d.probe}` : ''}: ${d.description}`);
    lines.push(`  ${d.reason}`);
    const e = d.emulator;
    const k = d.kernel;
    if (isSide(e) && isSide(k)) {
      lines.push(`    ${'emulator'.padEnd(70)}   kernel`);
      lines.push(...columns(e.packets, k.packets, 70));
      lines.push('  outcome, field by field (emulator, then kernel):');
      for (const o of e.outcome) lines.push(`    E ${o}`);
      for (const o of k.outcome) lines.push(`    K ${o}`);
      for (const x of e.drops ?? []) lines.push(`  emulator drop: ${x}`);
      for (const x of k.drops ?? []) lines.push(`  kernel: ${x}`);
      if (e.pcap !== undefined) lines.push(`  pcapng: ${e.pcap}  ${k.pcap ?? ''}`);
      for (const [name, c] of Object.entries(d.draws ?? {})) {
        lines.push(`  ${name} draw of the group:`);
        for (const [side, counts] of [['emulator', c.emulator], ['kernel', c.kernel]] as const) for (const [o, n] of Object.entries(counts)) lines.push(`    ${side} ${n}× ${o}`);
      }
    } else if (!isSide(e) && !isSide(k)) {
      lines.push('  emulator: ' + Object.entries(e.counts).map(([o, n]) => `${n}× ${o}`).join('; '));
      lines.push('  kernel:   ' + Object.entries(k.counts).map(([o, n]) => `${n}× ${o}`).join('; '));
    }
  }
  return lines.join('\n') + '\n';
}
