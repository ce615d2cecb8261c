/**
 * Load balancing: per Service with endpoints, each endpoint's new connections
 * (web/model/lb-counts.ts) as a bar, its share in words, and the share the proxy
 * promises marked on the bar. At most twice a second, only the Services that got
 * connections since are redrawn (all of them when the topology changes).
 */
import type { Flow } from '../../observe/flow.ts';
import type { Topology, TopologyService } from '../../observe/topology.ts';
import { LbCounter } from '../model/lb-counts.ts';
import { $, h } from './dom.ts';

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

export class LbView {
  readonly counter = new LbCounter();
  private topology: Topology | undefined;
  private readonly dirty = new Set<string>();
  private readonly sections = new Map<string, HTMLElement>();

  constructor(backlog: number) {
    $('lb-note').textContent = `New connections per endpoint (a TCP SYN, or a UDP/ICMP packet, sent to the Service's address), counted from the server's last ${backlog.toLocaleString('en')} flows and every flow since. The mark is the expected share: every ready endpoint alike.`;
    setInterval(() => { if (this.dirty.size > 0) this.render(false); }, 500);
  }

  add(f: Flow): void {
    this.counter.add(f);
    if (f.service !== undefined) this.dirty.add(f.service);
  }

  update(t: Topology): void {
    this.topology = t;
    this.render(true);
  }

  /** Redraw every Service's chart (`all`), or only those that got connections since the last time. */
  private render(all: boolean): void {
    const t = this.topology;
    if (t === undefined) return;
    const shown = t.services.filter((s) => s.clusterIP !== undefined && (s.endpoints.length > 0 || this.counter.total(s.key) > 0));
    if (!all) {
      for (const s of shown) {
        const old = this.sections.get(s.key);
        if (this.dirty.has(s.key) && old !== undefined) {
          const fresh = this.chart(s);
          old.replaceWith(fresh);
          this.sections.set(s.key, fresh);
        }
      }
      this.dirty.clear();
      if (shown.every((s) => this.sections.has(s.key))) return;
    }
    this.dirty.clear();
    this.sections.clear();
    const charts = shown.map((s) => {
      const c = this.chart(s);
      this.sections.set(s.key, c);
      return c;
    });
    $('lb-charts').replaceChildren(...(charts.length > 0 ? charts : [h('p', {}, 'No Service has endpoints yet.')]));
  }

  private chart(s: TopologyService): HTMLElement {
    const bars = this.counter.bars(s);
    const total = this.counter.total(s.key);
    return h('section', { class: 'lb-service', 'data-service': s.key, 'aria-label': `Service ${s.key}` },
      h('h3', {}, `${s.key} `, h('small', {}, `${s.clusterIP ?? ''} · ${total} connections`)),
      ...bars.map((b) => {
        const name = b.pod ?? b.ip;
        const label = `${name} (${b.ip})`;
        const fill = h('div', { class: 'fill' });
        fill.style.width = pct(b.share);
        const bar = h('div', { class: 'bar', role: 'img', 'aria-label': `${label}: ${b.count} connections, ${pct(b.share)}, expected ${pct(b.expected)}` }, fill);
        if (b.expected > 0) {
          const mark = h('div', { class: 'expected', title: `expected ${pct(b.expected)}`, 'data-expected': pct(b.expected) });
          mark.style.left = pct(b.expected);
          bar.append(mark);
        }
        return h('div', { class: 'bar-row', 'data-endpoint': b.ip, 'data-pod': b.pod ?? '', 'data-count': String(b.count) },
          h('span', { class: 'name', title: label }, name), bar, h('span', {}, `${b.count} · ${pct(b.share)}${b.ready ? '' : ' (not ready)'}`));
      }),
      h('p', { class: 'legend' }, 'bar: observed share', h('span', { class: 'mark', 'aria-hidden': 'true' }), 'expected share'));
  }
}
