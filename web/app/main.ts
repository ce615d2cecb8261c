/**
 * The page: four views over one live cluster. The topology comes from
 * `GET /netsim/v1/topology` and is fetched again whenever an API watch (pods, nodes,
 * Services, EndpointSlices; WebSockets) reports a change; one unfiltered flow stream
 * feeds the load-balancing counts and the topology's traffic highlights, the flows
 * table has its own filtered one. `body[data-ready]` marks the first drawn topology.
 */
import type { Flow } from '../../observe/flow.ts';
import type { Topology } from '../../observe/topology.ts';
import { flowPath } from '../model/flow-path.ts';
import { elementId } from '../model/ids.ts';
import { Api, ApiFailure, keepOpen, storeToken, takeToken } from './api.ts';
import { $ } from './dom.ts';
import { FlowsView, SAMPLE_LIMIT } from './flows-view.ts';
import { InventoryView } from './inventory-view.ts';
import { LbView } from './lb-view.ts';
import { TopologyView } from './topology-view.ts';
import { TraceView } from './trace-view.ts';

/** Flows the load-balancing counts start from (the ring's most recent). */
const LB_BACKLOG = 20_000;
const WATCHED = ['/api/v1/pods', '/api/v1/nodes', '/api/v1/services', '/apis/discovery.k8s.io/v1/endpointslices'];
const TABS = ['topology', 'flows', 'trace', 'lb'] as const;
type Tab = (typeof TABS)[number];

const status = (s: string): void => { $('status').textContent = s; };

const api = new Api(takeToken(), () => {
  $('auth').hidden = false;
  status('not authorized: give the token');
});

const graph = new TopologyView((id) => select(id));
const inventory = new InventoryView(api, (id) => select(id));
const trace = new TraceView(api, graph);
const lb = new LbView(LB_BACKLOG);
const flows = new FlowsView(api, (f) => showFlow(f));

function select(id: string): void {
  graph.cy.elements().unselect();
  graph.cy.getElementById(id).select();
  graph.reveal(id);
  inventory.show(id);
  if (current !== 'topology' && current !== 'trace') activate('topology');
}

/** A selected flow: the path its two ends imply (web/model/flow-path.ts), and the Service it was sent to. */
function showFlow(f: Flow): void {
  activate('topology');
  graph.clearClasses('path', 'reply-path', 'current');
  const t = graph.topology;
  if (t === undefined) return;
  const cy = graph.cy;
  const path = cy.collection();
  for (const id of flowPath(t, f.source, f.destination)) path.merge(cy.getElementById(id));
  if (f.service !== undefined) path.merge(cy.getElementById(elementId.service(f.service))).merge(cy.getElementById(`ep:${f.service}:${f.destination.ip}`));
  path.merge(path.edgesWith(path)).addClass('path');
  const first = endpointElement(f.source) ?? endpointElement(f.destination);
  if (first !== undefined) inventory.show(first);
}

function endpointElement(e: Flow['source']): string | undefined {
  if (e.kind === 'pod' && e.name !== undefined) return elementId.pod(`${e.namespace ?? 'default'}/${e.name}`);
  if (e.kind === 'node' && e.name !== undefined) return elementId.node(e.name);
  if (e.kind === 'external' && e.name !== undefined) return elementId.host(e.name);
  if (e.kind === 'service' && e.name !== undefined) return elementId.service(`${e.namespace ?? 'default'}/${e.name}`);
  return undefined;
}

// ------------------------------------------------------------------ tabs
let current: Tab = 'topology';
let hidden = false;
function activate(tab: Tab, focus = false): void {
  current = tab;
  for (const t of TABS) {
    const button = $(`tab-${t}`);
    const on = t === tab;
    button.setAttribute('aria-selected', String(on));
    button.tabIndex = on ? 0 : -1;
    $(`view-${t}`).hidden = !on;
    if (on && focus) button.focus();
  }
  const hide = tab === 'flows' || tab === 'lb';
  // Only a graph that comes back from hiding is refitted: switching between topology and trace keeps the zoom.
  if ($('views').classList.toggle('no-graph', hide) !== hidden) {
    hidden = hide;
    if (!hide) graph.resize();
  }
}
TABS.forEach((t, i) => {
  const b = $(`tab-${t}`);
  b.addEventListener('click', () => activate(t));
  // The WAI-ARIA tabs pattern: arrows move between tabs, Home/End to the ends.
  b.addEventListener('keydown', (ev) => {
    const to = ev.key === 'ArrowRight' ? (i + 1) % TABS.length : ev.key === 'ArrowLeft' ? (i + TABS.length - 1) % TABS.length : ev.key === 'Home' ? 0 : ev.key === 'End' ? TABS.length - 1 : -1;
    if (to < 0) return;
    ev.preventDefault();
    activate(TABS[to] as Tab, true);
  });
});
addEventListener('resize', () => graph.resize());

// ------------------------------------------------------------------ topology, live
let loading: Promise<void> | undefined;
let again = false;
/** The last topology drawn, as the server sent it: an unchanged answer is not redrawn. */
let lastText = '';
async function loadTopology(): Promise<void> {
  if (loading !== undefined) { again = true; return; }
  loading = (async () => {
    try {
      const text = await api.text('/netsim/v1/topology');
      if (text !== lastText) {
        lastText = text;
        graph.update(JSON.parse(text) as Topology);
      }
      const t = graph.topology as Topology;
      status(`live · ${t.nodes.length} nodes, ${t.pods.length} pods · updated ${new Date().toLocaleTimeString()}`);
      document.body.dataset['ready'] = 'true';
    } catch (e) {
      status(e instanceof ApiFailure ? e.message : 'the topology could not be loaded');
    }
  })();
  await loading;
  loading = undefined;
  if (again) { again = false; await loadTopology(); }
}
let soon: ReturnType<typeof setTimeout> | undefined;
function refreshSoon(): void {
  if (soon !== undefined) return;
  soon = setTimeout(() => { soon = undefined; void loadTopology(); }, 200);
}
graph.onChange((t) => { inventory.update(t); trace.update(t); lb.update(t); });

// ------------------------------------------------------------------ traffic
let touched = new Set<string>();
let pending = false;
/**
 * Traffic highlights are aggregated: however many flows arrive, the graph is restyled
 * once per period, which grows with what a redraw costs (TopologyView.activityPeriod:
 * 250 ms for a small cluster, seconds for 1 500 pods drawn in software).
 */
function traffic(data: string): void {
  const f = JSON.parse(data) as Flow | { lost: number };
  if ('lost' in f) return;
  lb.add(f);
  for (const id of [endpointElement(f.source), endpointElement(f.destination)]) if (id !== undefined) touched.add(id);
  if (!pending) {
    pending = true;
    const period = graph.activityPeriod();
    showNote(period);
    setTimeout(() => {
      pending = false;
      graph.showActivity(touched);
      touched = new Set();
      // With no traffic since, the next period clears the highlights.
      setTimeout(() => { if (!pending) graph.showActivity([]); }, period);
    }, period);
  }
}

function showNote(period: number): void {
  const note = activityNote(period);
  $('graph-note').textContent = note;
  $('graph-note').title = note;
}

function activityNote(period: number): string {
  return `Pods that carried traffic light up, aggregated over ${period >= 1000 ? `${(period / 1000).toFixed(1)} s` : `${period} ms`} (longer when the picture is slow to draw); above ${SAMPLE_LIMIT} flows/s the flows table samples.`;
}

function start(): void {
  void loadTopology();
  for (const path of WATCHED) keepOpen(() => api.socket(`${path}?watch=true&allowWatchBookmarks=false`), refreshSoon);
  keepOpen(() => api.socket(`/netsim/v1/flows?follow=true&last=${LB_BACKLOG}`), traffic);
  void flows.start();
  // A safety net for a change no watched kind reports (a node's devices).
  setInterval(() => { if (!document.hidden) void loadTopology(); }, 10_000);
}

($('auth') as HTMLFormElement).addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = ($('token-input') as HTMLInputElement).value.trim();
  storeToken(token);
  api.setToken(token);
  $('auth').hidden = true;
  location.reload();
});

showNote(graph.activityPeriod());
(window as unknown as { netsim: unknown }).netsim = { cy: graph.cy, topology: () => graph.topology };
start();
