/**
 * A topology (observe/topology.ts) as graph elements with fixed positions: nodes side
 * by side (a grid past four), each a box holding its pods in rows, then the bridge,
 * flannel's device and kube-ipvs0, then eth0 at the bottom on the underlay; the
 * router and outside hosts below, Services above with edges to their endpoints.
 *
 * Positions are computed here rather than by a force layout: the picture is the same
 * on every load and after every change (a new pod takes the next slot instead of
 * shuffling the graph), and it costs O(elements) for 1 500 pods. A node's box is a
 * plain element sized to hold its pods and devices, drawn behind them, rather than a
 * cytoscape compound parent: restyling a child of a compound dirties its parent and
 * siblings, which made a 1 500-pod page take seconds per update (bench/README.md).
 */
import type { Topology, TopologyNode, TopologyPod } from '../../observe/topology.ts';
import { elementId } from './ids.ts';

export interface GraphElement {
  readonly group: 'nodes' | 'edges';
  readonly data: {
    readonly id: string;
    readonly label?: string;
    /** The whole name and facts, for tooltips (labels are cut to fit). */
    readonly title?: string;
    /** The node whose box holds this device or pod. */
    readonly node?: string;
    /** A node box's size (it is drawn behind its devices and pods, not as a compound parent). */
    readonly w?: number;
    readonly h?: number;
    readonly source?: string;
    readonly target?: string;
  };
  readonly position?: { readonly x: number; readonly y: number };
  /** Space-separated style classes: the kind (`pod`, `node`, `bridge`, …) and states (`notready`). */
  readonly classes: string;
}

/** Pod label length before it is cut with an ellipsis (the tooltip has the whole name). */
export const LABEL_MAX = 22;
const POD_W = 150;
const POD_H = 70;
const ROW_GAP = 80;
const NODE_GAP = 90;

export function shorten(s: string, max = LABEL_MAX): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function podsPerRow(n: number): number {
  return Math.max(3, Math.min(8, Math.ceil(Math.sqrt(n * 2))));
}

/** Space in a box above the first pod row (the box's label sits above the box). */
const BOX_TOP = 50;
/** Space below eth0. */
const BOX_BOTTOM = 35;
const BOX_SIDE = 15;

/** Width of the pod grid and height of a node's box for its pods (pod rows, then three rows of devices). */
function boxSize(pods: number): { w: number; h: number } {
  const per = podsPerRow(pods);
  const rows = Math.max(1, Math.ceil(pods / per));
  return { w: per * POD_W, h: BOX_TOP + rows * POD_H + 20 + 2 * ROW_GAP + BOX_BOTTOM };
}

export function topologyElements(t: Topology): GraphElement[] {
  const out: GraphElement[] = [];
  const podsOf = new Map<string, TopologyPod[]>();
  for (const p of t.pods) {
    const list = podsOf.get(p.node) ?? [];
    list.push(p);
    podsOf.set(p.node, list);
  }
  const cols = t.nodes.length <= 4 ? Math.max(1, t.nodes.length) : Math.ceil(Math.sqrt(t.nodes.length * 1.5));
  const sizes = t.nodes.map((n) => boxSize(podsOf.get(n.name)?.length ?? 0));
  const colW = Math.max(POD_W * 3, ...sizes.map((s) => s.w)) + 2 * BOX_SIDE + NODE_GAP;
  const rowHeights: number[] = [];
  sizes.forEach((s, i) => {
    const r = Math.floor(i / cols);
    rowHeights[r] = Math.max(rowHeights[r] ?? 0, s.h + NODE_GAP);
  });
  const rowY = (r: number): number => rowHeights.slice(0, r).reduce((a, b) => a + b, 0);
  const totalW = Math.min(cols, t.nodes.length) * colW;
  const bottom = rowY(rowHeights.length);

  t.nodes.forEach((n, i) => {
    const ox = (i % cols) * colW;
    const oy = rowY(Math.floor(i / cols));
    nodeElements(out, n, podsOf.get(n.name) ?? [], ox, oy);
  });

  const underlayY = bottom + 40;
  out.push({ group: 'nodes', data: { id: elementId.underlay, label: 'underlay', title: 'the nodes\' network (eth0 of each node)' }, position: { x: totalW / 2 - NODE_GAP / 2, y: underlayY }, classes: 'network' });
  for (const n of t.nodes) {
    if (n.devices.some((d) => d.name === 'eth0')) out.push({ group: 'edges', data: { id: `wire:${n.name}`, source: elementId.device(n.name, 'eth0'), target: elementId.underlay }, classes: 'wire' });
  }
  const router = t.outside.find((h) => h.kind === 'router');
  const hosts = t.outside.filter((h) => h.kind === 'external');
  if (router !== undefined) {
    out.push({ group: 'nodes', data: { id: elementId.host(router.name), label: `${router.name}\n${router.addresses.join(' ')}`, title: `router ${router.addresses.join(', ')}` }, position: { x: totalW / 2 - NODE_GAP / 2, y: underlayY + 110 }, classes: 'router' });
    out.push({ group: 'edges', data: { id: 'wire:router', source: elementId.host(router.name), target: elementId.underlay }, classes: 'wire' });
  }
  if (hosts.length > 0) {
    const outsideY = underlayY + (router !== undefined ? 220 : 110);
    out.push({ group: 'nodes', data: { id: elementId.outside, label: 'outside', title: 'the network outside the cluster' }, position: { x: totalW / 2 - NODE_GAP / 2, y: outsideY }, classes: 'network' });
    if (router !== undefined) out.push({ group: 'edges', data: { id: 'wire:router-outside', source: elementId.host(router.name), target: elementId.outside }, classes: 'wire' });
    hosts.forEach((h, i) => {
      const x = totalW / 2 - NODE_GAP / 2 + (i - (hosts.length - 1) / 2) * POD_W * 1.4;
      out.push({ group: 'nodes', data: { id: elementId.host(h.name), label: `${shorten(h.name)}\n${h.addresses[0] ?? ''}`, title: `${h.name} ${h.addresses.join(', ')}` }, position: { x, y: outsideY + 110 }, classes: 'host' });
      out.push({ group: 'edges', data: { id: `wire:host:${h.name}`, source: elementId.host(h.name), target: elementId.outside }, classes: 'wire' });
    });
  }

  const pods = new Set(t.pods.map((p) => p.key));
  const vips = t.services.filter((s) => s.clusterIP !== undefined);
  const step = vips.length > 1 ? Math.max(POD_W, totalW / vips.length) : 0;
  vips.forEach((s, i) => {
    const ports = s.ports.map((p) => `${p.port}/${p.protocol}${p.nodePort !== undefined ? ` :${p.nodePort}` : ''}`).join(' ');
    out.push({ group: 'nodes', data: { id: elementId.service(s.key), label: `${shorten(s.name)}\n${s.clusterIP ?? ''}`, title: `Service ${s.key} (${s.type}) ${s.clusterIP ?? ''} ${ports}` }, position: { x: i * step + POD_W / 2, y: -170 - (i % 2) * 60 }, classes: 'service' });
    const linked = new Set<string>();
    for (const ep of s.endpoints) {
      if (ep.pod === undefined || !pods.has(ep.pod) || linked.has(ep.ip)) continue;
      linked.add(ep.ip);
      out.push({ group: 'edges', data: { id: `ep:${s.key}:${ep.ip}`, source: elementId.service(s.key), target: elementId.pod(ep.pod) }, classes: ep.ready ? 'endpoint' : 'endpoint notready' });
    }
  });
  return out;
}

function nodeElements(out: GraphElement[], n: TopologyNode, pods: readonly TopologyPod[], ox: number, top: number): void {
  const nodeId = elementId.node(n.name);
  const per = podsPerRow(pods.length);
  const { w, h } = boxSize(pods.length);
  out.push({ group: 'nodes', data: { id: nodeId, label: `${n.name} ${n.ip}${n.podSubnet !== undefined ? ` · pods ${n.podSubnet}` : ''}`, title: `node ${n.name}`, w: w + 2 * BOX_SIDE, h }, position: { x: ox + w / 2, y: top + h / 2 }, classes: 'node' });
  const oy = top + BOX_TOP;
  pods.forEach((p, i) => {
    const x = ox + (i % per) * POD_W + POD_W / 2;
    const y = oy + Math.floor(i / per) * POD_H;
    out.push({
      group: 'nodes',
      data: { id: elementId.pod(p.key), node: n.name, label: `${shorten(p.name)}\n${p.ip}`, title: `pod ${p.key}\n${p.ip} on ${p.node}${p.hostVeth !== undefined ? ` (${p.hostVeth})` : ''}\n${p.ready ? 'ready' : 'not ready'}` },
      position: { x, y }, classes: p.ready ? 'pod' : 'pod notready',
    });
  });
  const rows = Math.max(1, Math.ceil(pods.length / per));
  const devY = oy + rows * POD_H + 20;
  const cx = ox + w / 2;
  const bridge = n.devices.find((d) => d.kind === 'bridge');
  const flannel = n.devices.find((d) => d.kind === 'flannel');
  const nic = n.devices.find((d) => d.name === 'eth0') ?? n.devices.find((d) => d.kind === 'nic');
  const others = n.devices.filter((d) => d !== bridge && d !== flannel && d !== nic);
  const dev = (name: string, kind: string, addresses: readonly string[], x: number, y: number): void => {
    out.push({ group: 'nodes', data: { id: elementId.device(n.name, name), node: n.name, label: `${name}\n${addresses[0] ?? ''}${addresses.length > 1 ? ` +${addresses.length - 1}` : ''}`, title: `${n.name} ${name}\n${addresses.join('\n')}` }, position: { x, y }, classes: `device ${kind}` });
  };
  if (bridge !== undefined) {
    dev(bridge.name, 'bridge', bridge.addresses, cx, devY);
    // The veth's name is in its tooltip, not drawn: 1 500 edge labels cost more than they tell at a glance.
    for (const p of pods) out.push({ group: 'edges', data: { id: elementId.veth(p.key), label: p.hostVeth ?? '', title: `${p.hostVeth ?? 'veth'}: ${p.key} ↔ ${bridge.name}`, source: elementId.pod(p.key), target: elementId.device(n.name, bridge.name) }, classes: 'veth' });
  }
  if (flannel !== undefined) dev(flannel.name, 'flannel', flannel.addresses, cx - POD_W * 0.75, devY + ROW_GAP);
  others.forEach((d, i) => dev(d.name, d.kind, d.addresses, cx + POD_W * 0.75 + i * POD_W, devY + ROW_GAP));
  if (nic !== undefined) dev(nic.name, 'nic', nic.addresses, cx, devY + 2 * ROW_GAP);
  // How a packet leaves the node: bridge → flannel's device → eth0 (or bridge → eth0 with host-gw routes).
  if (bridge !== undefined && flannel !== undefined) out.push({ group: 'edges', data: { id: `in:${n.name}:br-fl`, source: elementId.device(n.name, bridge.name), target: elementId.device(n.name, flannel.name) }, classes: 'internal' });
  if (flannel !== undefined && nic !== undefined) out.push({ group: 'edges', data: { id: `in:${n.name}:fl-nic`, source: elementId.device(n.name, flannel.name), target: elementId.device(n.name, nic.name) }, classes: 'internal' });
  if (bridge !== undefined && flannel === undefined && nic !== undefined) out.push({ group: 'edges', data: { id: `in:${n.name}:br-nic`, source: elementId.device(n.name, bridge.name), target: elementId.device(n.name, nic.name) }, classes: 'internal' });
}

/** The extent of the drawn elements (node boxes by their size, everything else by its slot), for fitting the view without measuring labels. */
export function graphBounds(els: readonly GraphElement[]): { x1: number; y1: number; x2: number; y2: number } {
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (const e of els) {
    if (e.position === undefined) continue;
    const hw = (e.data.w ?? POD_W) / 2;
    const hh = (e.data.h ?? POD_H) / 2 + (e.data.w !== undefined ? 20 : 0);
    x1 = Math.min(x1, e.position.x - hw);
    x2 = Math.max(x2, e.position.x + hw);
    y1 = Math.min(y1, e.position.y - hh);
    y2 = Math.max(y2, e.position.y + hh);
  }
  return x1 === Infinity ? { x1: 0, y1: 0, x2: 1, y2: 1 } : { x1, y1, x2, y2 };
}
