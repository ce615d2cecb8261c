/**
 * The topology's side panel: a summary, every node with its devices and pods as
 * buttons (the keyboard's way into the picture), and the details of what is selected
 * — for a node, the same views `netsim node NODE VIEW` prints, fetched from the live
 * cluster; for a pod, `ip addr|route|neigh|link` inside it, then its node's views.
 */
import type { Topology } from '../../observe/topology.ts';
import { elementId } from '../model/ids.ts';
import type { Api } from './api.ts';
import { ApiFailure } from './api.ts';
import { $, facts, h } from './dom.ts';

/** The node views the details offer (cli/commands/node.ts NODE_VIEWS). */
const NODE_VIEWS = ['addr', 'route', 'neigh', 'fdb', 'link', 'iptables-save', 'conntrack', 'ipvsadm', 'ipset', 'subnet-env', 'leases'] as const;
/** A pod's own namespace (observe/topology-routes.ts POD_VIEWS). */
const POD_VIEWS = ['addr', 'route', 'neigh', 'link'] as const;

export class InventoryView {
  private topology: Topology | undefined;
  private selected: string | undefined;

  constructor(private readonly api: Api, private readonly select: (id: string) => void) {}

  update(t: Topology): void {
    this.topology = t;
    const ready = t.pods.filter((p) => p.ready).length;
    $('topology-summary').textContent = `${t.nodes.length} nodes, ${t.pods.length} pods (${ready} ready), ${t.services.length} Services · flannel ${t.flannelBackend} · kube-proxy ${t.proxyMode}${t.ipvsScheduler !== undefined ? ` (${t.ipvsScheduler})` : ''}`;
    const list = $('inventory');
    list.replaceChildren(...t.nodes.map((n) => {
      const pods = t.pods.filter((p) => p.node === n.name);
      return h('li', { 'data-node': n.name },
        this.button(elementId.node(n.name), `${n.name} ${n.ip}`),
        h('ul', { 'aria-label': `${n.name} devices and pods` },
          ...n.devices.map((d) => h('li', {}, this.button(elementId.device(n.name, d.name), `${d.name} ${d.addresses.join(' ')}`))),
          ...pods.map((p) => h('li', { 'data-pod': p.key }, this.button(elementId.pod(p.key), `${p.key} ${p.ip}`, p.ready)))));
    }), ...t.outside.map((o) => h('li', {}, this.button(elementId.host(o.name), `${o.name} ${o.addresses.join(' ')}`))));
    if (this.selected !== undefined) this.show(this.selected);
  }

  private button(id: string, text: string, ready?: boolean): HTMLButtonElement {
    const b = h('button', { type: 'button', title: text, 'data-id': id });
    if (ready !== undefined) b.append(h('span', { class: ready ? 'ready-dot' : 'ready-dot notready', 'aria-label': ready ? 'ready' : 'not ready', role: 'img' }));
    b.append(text);
    b.addEventListener('click', () => this.select(id));
    return b;
  }

  /** The details of element `id`. */
  show(id: string): void {
    this.selected = id;
    const t = this.topology;
    const box = $('details');
    if (t === undefined) return;
    const [kind, ...rest] = id.split(':');
    const name = rest.join(':');
    if (kind === 'pod') {
      const p = t.pods.find((x) => x.key === name);
      if (p === undefined) { box.replaceChildren(h('p', {}, `pod ${name} is gone`)); return; }
      const svcs = t.services.filter((s) => s.endpoints.some((e) => e.pod === p.key)).map((s) => s.key);
      box.replaceChildren(h('h3', {}, `Pod ${p.key}`), facts([
        ['IP', p.ip], ['node', p.node], ['veth (host end)', p.hostVeth ?? '—'], ['ready', p.ready ? 'yes' : 'no'],
        ['labels', Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(', ') || '—'], ['endpoint of', svcs.join(', ') || '—'],
      ]), this.views(`Inside ${p.key}`, 'pod-view', POD_VIEWS, (v) => `/netsim/v1/podview?${new URLSearchParams({ pod: p.key, view: v }).toString()}`),
      this.views(`On ${p.node}`, 'node-view', NODE_VIEWS, (v) => `/netsim/v1/nodeview?${new URLSearchParams({ node: p.node, view: v }).toString()}`));
    } else if (kind === 'node' || kind === 'dev') {
      const nodeName = kind === 'node' ? name : name.split(':')[0] as string;
      const n = t.nodes.find((x) => x.name === nodeName);
      if (n === undefined) { box.replaceChildren(h('p', {}, `node ${nodeName} is gone`)); return; }
      const dev = kind === 'dev' ? n.devices.find((d) => d.name === name.slice(nodeName.length + 1)) : undefined;
      const rows: Array<[string, string]> = dev !== undefined
        ? [['device', dev.name], ['kind', dev.kind], ['addresses', dev.addresses.join(', ') || '—']]
        : [['underlay IP', n.ip], ['pod subnet', n.podSubnet ?? '—'], ['devices', n.devices.map((d) => d.name).join(', ')], ['pods', String(t.pods.filter((p) => p.node === n.name).length)]];
      box.replaceChildren(h('h3', {}, dev !== undefined ? `${n.name}: ${dev.name}` : `Node ${n.name}`), facts(rows),
        this.views(`On ${n.name}`, 'node-view', NODE_VIEWS, (v) => `/netsim/v1/nodeview?${new URLSearchParams({ node: n.name, view: v }).toString()}`));
    } else if (kind === 'svc') {
      const s = t.services.find((x) => x.key === name);
      if (s === undefined) { box.replaceChildren(h('p', {}, `Service ${name} is gone`)); return; }
      box.replaceChildren(h('h3', {}, `Service ${s.key}`), facts([
        ['type', s.type], ['ClusterIP', s.clusterIP ?? 'None'],
        ['ports', s.ports.map((p) => `${p.name !== '' ? `${p.name} ` : ''}${p.port}/${p.protocol}${p.nodePort !== undefined ? ` (NodePort ${p.nodePort})` : ''}`).join(', ')],
        ['endpoints', s.endpoints.map((e) => `${e.ip}${e.pod !== undefined ? ` ${e.pod}` : ''}${e.ready ? '' : ' (not ready)'}`).join(', ') || '—'],
      ]));
    } else if (kind === 'host') {
      const o = t.outside.find((x) => x.name === name);
      box.replaceChildren(h('h3', {}, name), facts([['addresses', o?.addresses.join(', ') ?? '—']]));
    } else {
      box.replaceChildren();
    }
  }

  /** A view picker and the view's text, as the real tool prints it (`netsim node NODE VIEW`, or `ip` in a pod). */
  private views(title: string, id: string, views: readonly string[], path: (view: string) => string): HTMLElement {
    const select = h('select', { id }, ...views.map((v) => h('option', { value: v }, v)));
    const out = h('pre', { 'aria-live': 'polite', 'aria-label': `${title}: view` });
    const load = async (): Promise<void> => {
      out.textContent = 'loading…';
      try {
        out.textContent = await this.api.text(path(select.value)) || '(empty)';
      } catch (e) {
        out.textContent = e instanceof ApiFailure ? e.message : 'the view could not be loaded';
      }
    };
    select.addEventListener('change', () => void load());
    void load();
    return h('div', {}, h('h3', {}, title), h('label', { for: id }, 'View '), select, out);
  }
}
