/**
 * The live flows table: the flow stream (`/netsim/v1/flows`, WebSocket) with
 * `netsim observe`'s filters applied on the server, newest first, dropped and
 * rejected flows highlighted, pause and clear. Past {@link SAMPLE_LIMIT} flows a
 * second it shows one in k (and says so); it keeps at most {@link MAX_ROWS} rows.
 */
import type { Flow } from '../../observe/flow.ts';
import { endpointText, FILTER_FIELDS, protocolText, timeText } from '../model/flow-text.ts';
import { RateSampler } from '../model/rate-sampler.ts';
import type { Api } from './api.ts';
import { ApiFailure, keepOpen } from './api.ts';
import { $, h } from './dom.ts';

export const SAMPLE_LIMIT = 200;
const MAX_ROWS = 500;

export class FlowsView {
  private stream: { stop(): void } | undefined;
  private paused = false;
  private pending: Flow[] = [];
  private scheduled = false;
  private received = 0;
  private lost = 0;
  private readonly sampler = new RateSampler(SAMPLE_LIMIT);
  private readonly body: HTMLTableSectionElement;

  constructor(private readonly api: Api, private readonly onSelect: (f: Flow) => void) {
    this.body = ($('flows-table') as HTMLTableElement).tBodies[0] as HTMLTableSectionElement;
    const form = $('flow-filters') as HTMLFormElement;
    form.addEventListener('submit', (ev) => { ev.preventDefault(); void this.start(); });
    const pause = $('flows-pause');
    pause.addEventListener('click', () => {
      this.paused = !this.paused;
      pause.setAttribute('aria-pressed', String(this.paused));
      pause.textContent = this.paused ? 'Resume' : 'Pause';
      if (!this.paused) this.schedule();
      this.note();
    });
    $('flows-clear').addEventListener('click', () => { this.body.replaceChildren(); this.pending = []; });
    setInterval(() => this.note(), 1000);
  }

  private query(): URLSearchParams {
    const form = $('flow-filters') as HTMLFormElement;
    const q = new URLSearchParams();
    for (const f of FILTER_FIELDS) {
      const v = (form.elements.namedItem(f) as HTMLInputElement | HTMLSelectElement | null)?.value.trim() ?? '';
      if (v !== '') q.set(f, v);
    }
    return q;
  }

  /** (Re)open the stream with the form's filters; a filter the server refuses is shown, not streamed. */
  async start(): Promise<void> {
    const q = this.query();
    const err = $('flows-error');
    try {
      // The server checks the filters; a WebSocket refused with 400 would not tell the page why.
      await this.api.text(`/netsim/v1/flows?${new URLSearchParams([...q, ['last', '0']]).toString()}`);
      err.hidden = true;
    } catch (e) {
      err.textContent = e instanceof ApiFailure ? e.message : 'the flow stream is not available';
      err.hidden = false;
      return;
    }
    this.stream?.stop();
    this.body.replaceChildren();
    this.pending = [];
    const path = `/netsim/v1/flows?${new URLSearchParams([...q, ['follow', 'true'], ['last', '200']]).toString()}`;
    this.stream = keepOpen(() => this.api.socket(path), (data) => this.receive(data));
  }

  private receive(data: string): void {
    const m = JSON.parse(data) as Flow | { lost: number };
    if ('lost' in m) { this.lost += m.lost; return; }
    this.received++;
    if (!this.sampler.keep(performance.now())) return;
    this.pending.push(m);
    if (this.pending.length > MAX_ROWS) this.pending.splice(0, this.pending.length - MAX_ROWS);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.paused) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      if (this.paused) return;
      const rows = this.pending.reverse().map((f) => this.row(f));
      this.pending = [];
      this.body.prepend(...rows);
      while (this.body.rows.length > MAX_ROWS) this.body.deleteRow(-1);
    });
  }

  private note(): void {
    const k = this.sampler.every();
    const rate = Math.round(this.sampler.rate());
    const parts = [`${this.received} flows received`, `${rate} flows/s`];
    if (k > 1) parts.push(`above ${SAMPLE_LIMIT} flows/s the table shows 1 in ${k} (counts and the load-balancing chart use every flow)`);
    if (this.lost > 0) parts.push(`${this.lost} lost by the server to a slow reader`);
    if (this.paused) parts.push(`paused: ${this.pending.length} waiting`);
    $('flows-note').textContent = parts.join(' · ');
  }

  private row(f: Flow): HTMLTableRowElement {
    const cell = (text: string, cls = ''): HTMLTableCellElement => h('td', { title: text, ...(cls !== '' ? { class: cls } : {}) }, text);
    const verdict = f.verdict + (f.dropReason !== undefined ? ` (${f.dropReason})` : '');
    const tr = h('tr', { tabindex: '0', class: f.verdict.toLowerCase(), 'data-trace-id': String(f.traceId), 'data-service': f.service ?? '', 'data-destination': f.destination.ip, 'aria-label': `flow ${endpointText(f.source)} to ${endpointText(f.destination)} ${verdict}` },
      cell(timeText(f)), cell(endpointText(f.source)), cell(endpointText(f.destination)), cell(f.service ?? ''), cell(protocolText(f)),
      cell(verdict, `verdict-${f.verdict}`), cell(f.node), cell([f.decidedBy, f.verdict !== 'FORWARDED' ? f.policy : undefined].filter((x) => x !== undefined).join(': ')), cell((f.nat ?? []).join('; ')));
    tr.addEventListener('click', () => this.onSelect(f));
    tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); this.onSelect(f); } });
    return tr;
  }
}
