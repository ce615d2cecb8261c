/**
 * The trace form and player: the request goes to `POST /netsim/v1/trace` (the live
 * trace `netsim trace --server` runs; the answer is its `-o json`), the hops are
 * listed in the answer's order, and stepping (first, back, play, forward, last)
 * moves a marker over the topology — the request's path in one colour, the reply's
 * in another — with each hop's packet, rule, NAT, conntrack and encapsulation detail.
 * A request the server refuses shows its message under the form.
 */
import type { Topology } from '../../observe/topology.ts';
import type { Hop, TraceAnswer, TraceLeg, TraceReport } from '../../observe/trace-report.ts';
import { HopLocator } from '../model/hop-target.ts';
import type { Api } from './api.ts';
import { ApiFailure } from './api.ts';
import { $, facts, h } from './dom.ts';
import type { TopologyView } from './topology-view.ts';

interface Step {
  readonly leg: 'request' | 'reply';
  readonly hop: Hop;
  readonly target: string | undefined;
  readonly item: HTMLLIElement;
}

const PLAY_MS = 450;

function legSummary(l: TraceLeg): string {
  return `${l.verdict}${l.drop !== undefined ? ` (${l.drop.reason} on ${l.drop.node}: ${l.drop.detail})` : ''}${l.icmpError !== undefined ? ` — ${l.icmpError}` : ''}`;
}

export class TraceView {
  private steps: Step[] = [];
  private at = -1;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly api: Api, private readonly graph: TopologyView) {
    ($('trace-form') as HTMLFormElement).addEventListener('submit', (ev) => { ev.preventDefault(); void this.run(); });
    $('hop-first').addEventListener('click', () => this.go(0));
    $('hop-prev').addEventListener('click', () => this.go(this.at - 1));
    $('hop-next').addEventListener('click', () => this.go(this.at + 1));
    $('hop-last').addEventListener('click', () => this.go(this.steps.length - 1));
    $('hop-play').addEventListener('click', () => (this.timer !== undefined ? this.stop() : this.play()));
  }

  /** Offer the cluster's pods, Services, nodes and outside hosts in the form. */
  update(t: Topology): void {
    const opt = (v: string): HTMLOptionElement => h('option', { value: v });
    const pods = t.pods.map((p) => `pod:${p.key}`);
    const nodes = t.nodes.map((n) => `node:${n.name}`);
    const hosts = t.outside.filter((o) => o.kind === 'external').map((o) => `external:${o.name}`);
    const services = t.services.filter((s) => s.clusterIP !== undefined).flatMap((s) => s.ports.map((p) => `service:${s.key}:${p.port}`));
    $('trace-sources').replaceChildren(...[...pods, ...nodes, ...hosts].map(opt));
    $('trace-targets').replaceChildren(...[...services, ...pods, ...nodes, ...hosts].map(opt));
  }

  private request(): Record<string, unknown> {
    const v = (id: string): string => ($(id) as HTMLInputElement | HTMLSelectElement).value.trim();
    const port = v('trace-port');
    // The server checks every field and says what is wrong; the page sends what was typed.
    return { from: v('trace-from'), to: v('trace-to'), ...(v('trace-proto') !== '' ? { proto: v('trace-proto') } : {}), ...(port !== '' ? { port: /^\d+$/.test(port) ? Number(port) : port } : {}) };
  }

  async run(): Promise<void> {
    this.stop();
    const err = $('trace-error');
    const button = $('trace-run') as HTMLButtonElement;
    button.disabled = true;
    // A fresh answer each time: the alert is announced again, and a stale message never stands for this request.
    err.hidden = true;
    try {
      const answer = await this.api.post<TraceAnswer & TraceReport>('/netsim/v1/trace', this.request());
      err.hidden = true;
      this.show(answer);
    } catch (e) {
      err.textContent = e instanceof ApiFailure ? e.message : 'the trace failed';
      err.hidden = false;
      // The last trace's hops are not this request's: take them away rather than show them under the error.
      $('trace-result').hidden = true;
      this.steps = [];
      this.graph.clearClasses('path', 'reply-path', 'current');
    } finally {
      button.disabled = false;
    }
  }

  private show(a: TraceAnswer & TraceReport): void {
    const t = this.graph.topology;
    const locator = t !== undefined ? new HopLocator(t) : undefined;
    this.steps = [];
    const list = (leg: 'request' | 'reply', hops: readonly Hop[]): HTMLLIElement[] => hops.map((hop) => {
      const n = this.steps.length;
      const text = `${hop.node} ${hop.netns === hop.node ? '' : `${hop.netns} `}${hop.component} ${hop.action}${hop.device !== undefined ? ` ${hop.device}` : ''}${hop.rule !== undefined ? ` ${hop.rule}` : ''} — ${hop.detail}`;
      const b = h('button', { type: 'button', title: text }, text);
      b.addEventListener('click', () => { this.stop(); this.go(n); });
      const item = h('li', { 'data-leg': leg, 'data-node': hop.node, 'data-netns': hop.netns, 'data-component': hop.component, 'data-action': hop.action, 'data-device': hop.device ?? '', 'data-rule': hop.rule ?? '' }, b);
      this.steps.push({ leg, hop, target: locator?.locate(hop), item });
      return item;
    });
    $('hops-request').replaceChildren(...list('request', a.hops));
    const reply = a.reply;
    $('hops-reply').replaceChildren(...(reply !== undefined ? list('reply', reply.hops) : []));
    $('hops-reply-title').hidden = reply === undefined;
    $('trace-summary').textContent = `${a.from} → ${a.to} ${a.proto}${a.port !== undefined ? `/${a.port}` : ''}: ${legSummary(a)}${reply !== undefined ? `; reply ${legSummary(reply)}` : ''} · ${a.hops.length} hops${reply !== undefined ? ` + ${reply.hops.length}` : ''}`;
    $('trace-result').hidden = false;
    this.graph.clearClasses('path', 'reply-path', 'current');
    this.at = -1;
    this.go(0);
  }

  private go(i: number): void {
    if (this.steps.length === 0) return;
    const to = Math.max(0, Math.min(this.steps.length - 1, i));
    const cy = this.graph.cy;
    cy.batch(() => {
      cy.elements().removeClass('path reply-path current');
      for (let k = 0; k <= to; k++) {
        const s = this.steps[k] as Step;
        if (s.target !== undefined) cy.getElementById(s.target).addClass(s.leg === 'request' ? 'path' : 'reply-path');
      }
      const cur = this.steps[to] as Step;
      if (cur.target !== undefined) cy.getElementById(cur.target).addClass('current');
    });
    (this.steps[this.at] as Step | undefined)?.item.removeAttribute('aria-current');
    this.at = to;
    const s = this.steps[to] as Step;
    s.item.setAttribute('aria-current', 'step');
    s.item.scrollIntoView({ block: 'nearest' });
    $('hop-position').textContent = `hop ${to + 1} of ${this.steps.length} (${s.leg})`;
    const p = s.hop.packet;
    const rows: Array<[string, string]> = [
      ['leg', s.leg], ['where', `${s.hop.node} · ${s.hop.netns}${s.hop.device !== undefined ? ` · ${s.hop.device}` : ''}`],
      ['component', `${s.hop.component} ${s.hop.action}`],
    ];
    if (p !== undefined) rows.push(['packet', `${p.proto} ${p.src}${p.sport !== undefined ? `:${p.sport}` : ''} → ${p.dst}${p.dport !== undefined ? `:${p.dport}` : ''} ttl ${p.ttl} len ${p.len}`]);
    if (s.hop.rule !== undefined) rows.push(['rule', s.hop.rule]);
    rows.push([s.hop.component === 'nat' ? 'NAT' : s.hop.component === 'conntrack' ? 'conntrack' : s.hop.action === 'encap' || s.hop.action === 'decap' ? s.hop.action : 'detail', s.hop.detail]);
    $('hop-detail').replaceChildren(facts(rows));
  }

  private play(): void {
    if (this.at >= this.steps.length - 1) this.go(0);
    $('hop-play').setAttribute('aria-pressed', 'true');
    $('hop-play').textContent = 'Pause';
    this.timer = setInterval(() => {
      if (this.at >= this.steps.length - 1) { this.stop(); return; }
      this.go(this.at + 1);
    }, PLAY_MS);
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    $('hop-play').setAttribute('aria-pressed', 'false');
    $('hop-play').textContent = 'Play';
  }
}
