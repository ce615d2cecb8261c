/**
 * The topology picture: cytoscape.js draws the elements web/model/topology-elements.ts
 * places (a preset layout), restyles them when the system theme changes, and takes
 * updates in place (new pods appear, gone ones leave, readiness recolours) without
 * moving the viewport. Trace and flow highlights are classes on elements.
 */
import cytoscape from 'cytoscape';
import type { Core, ElementDefinition, StylesheetJson } from 'cytoscape';
import type { Topology } from '../../observe/topology.ts';
import { graphBounds, topologyElements } from '../model/topology-elements.ts';
import { $, cssVar } from './dom.ts';

function stylesheet(): StylesheetJson {
  const c = (n: string): string => cssVar(n) || '#888';
  return [
    // Node boxes behind everything, then edges, then devices and pods (manual z-order: a box is a plain node, not a compound).
    { selector: 'node', style: { label: 'data(label)', 'font-size': 10, 'min-zoomed-font-size': 6, 'text-wrap': 'wrap', 'text-valign': 'center', 'text-halign': 'center', color: c('--fg'), 'border-width': 1, 'border-color': c('--border'), 'background-color': c('--panel'), shape: 'round-rectangle', width: 130, height: 40, 'z-index-compare': 'manual', 'z-index': 10 } },
    { selector: 'node.node', style: { 'background-color': c('--node'), 'text-valign': 'top', 'text-halign': 'center', 'text-margin-y': -4, 'font-size': 13, 'font-weight': 'bold', 'border-width': 2, width: 'data(w)', height: 'data(h)', 'z-index': 0 } },
    { selector: 'node.pod', style: { 'background-color': c('--pod'), 'border-color': c('--pod-border'), 'border-width': 2 } },
    { selector: 'node.pod.notready', style: { 'border-color': c('--bad'), 'border-style': 'dashed' } },
    { selector: 'node.device', style: { 'background-color': c('--device'), width: 120, height: 34 } },
    { selector: 'node.flannel', style: { 'background-color': c('--flannel') } },
    { selector: 'node.service', style: { 'background-color': c('--service'), shape: 'ellipse', width: 140, height: 46 } },
    { selector: 'node.network', style: { shape: 'rectangle', width: 260, height: 14, 'background-color': c('--edge'), 'text-valign': 'bottom', 'text-margin-y': 4 } },
    { selector: 'node.router, node.host', style: { 'background-color': c('--host'), shape: 'round-hexagon', width: 130, height: 44 } },
    { selector: 'edge', style: { width: 1.5, 'line-color': c('--edge'), 'curve-style': 'straight', 'font-size': 8, 'min-zoomed-font-size': 6, color: c('--muted'), 'z-index-compare': 'manual', 'z-index': 5 } },
    { selector: 'edge.internal', style: { 'line-style': 'dotted' } },
    { selector: 'edge.wire', style: { width: 3 } },
    { selector: 'edge.endpoint', style: { 'line-style': 'dashed', 'line-color': c('--ok'), 'target-arrow-shape': 'triangle', 'target-arrow-color': c('--ok'), opacity: 0.6 } },
    { selector: 'edge.endpoint.notready', style: { 'line-color': c('--bad'), 'target-arrow-color': c('--bad') } },
    // Colour only: a change of size would re-route every edge of the element on each flash.
    { selector: 'node.active', style: { 'border-color': c('--hop'), 'background-color': c('--hop') } },
    { selector: '.path', style: { 'border-color': c('--hop'), 'line-color': c('--hop'), 'border-width': 3, width: 4 } },
    { selector: '.reply-path', style: { 'border-color': c('--reply'), 'line-color': c('--reply'), 'border-width': 3, width: 4 } },
    { selector: '.current', style: { 'border-color': c('--hop'), 'line-color': c('--hop'), 'border-width': 6, width: 7, 'overlay-color': c('--hop'), 'overlay-opacity': 0.25, 'overlay-padding': 6 } },
    { selector: 'node.node.current', style: { 'overlay-opacity': 0.08 } },
    { selector: ':selected', style: { 'overlay-color': c('--accent'), 'overlay-opacity': 0.2, 'overlay-padding': 4 } },
  ];
}

/** Classes that trace and flow highlights put on elements; a redraw of the topology keeps them. */
const TRANSIENT = ['active', 'path', 'reply-path', 'current'];

export class TopologyView {
  readonly cy: Core;
  private fitted = false;
  private bounds = { x1: 0, y1: 0, x2: 1, y2: 1 };
  /** What the last traffic highlight took to draw (ms). */
  private drawMs = 0;
  private readonly listeners: Array<(t: Topology) => void> = [];
  topology: Topology | undefined;

  constructor(onSelect: (id: string) => void) {
    this.cy = cytoscape({ container: $('cy'), style: stylesheet(), layout: { name: 'preset' }, minZoom: 0.05, maxZoom: 3, boxSelectionEnabled: false, autoungrabify: true,
      // Pan and zoom move a snapshot and hide edges meanwhile: a big cluster stays fluid.
      textureOnViewport: true, hideEdgesOnViewport: true });
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.cy.style(stylesheet()));
    const tip = $('graph-tooltip');
    this.cy.on('mouseover', 'node, edge', (ev) => {
      const title = ev.target.data('title') as string | undefined ?? ev.target.data('label') as string | undefined;
      if (title === undefined || title === '') return;
      tip.textContent = title;
      const p = ev.renderedPosition ?? ev.target.renderedMidpoint?.() ?? { x: 0, y: 0 };
      tip.style.left = `${p.x + 12}px`;
      tip.style.top = `${p.y + 12}px`;
      tip.hidden = false;
    });
    this.cy.on('mouseout', 'node, edge', () => { tip.hidden = true; });
    this.cy.on('tap', 'node', (ev) => onSelect(ev.target.id() as string));
    $('fit').addEventListener('click', () => this.fit());
  }

  onChange(f: (t: Topology) => void): void {
    this.listeners.push(f);
  }

  /**
   * Draw `t`: new elements are added in one go, gone ones removed, and an existing one
   * is touched only where its label, place or kind changed — every touch restyles and
   * redraws, which at 1 500 pods is what costs.
   */
  update(t: Topology): void {
    this.topology = t;
    const els = topologyElements(t);
    this.bounds = graphBounds(els);
    const want = new Set(els.map((e) => e.data.id));
    this.cy.batch(() => {
      this.cy.elements().filter((e) => !want.has(e.id())).remove();
      const adds: ElementDefinition[] = [];
      for (const e of els) {
        const have = this.cy.getElementById(e.data.id);
        if (have.empty()) {
          adds.push({ group: e.group, data: { ...e.data }, ...(e.position !== undefined ? { position: { ...e.position } } : {}), classes: e.classes });
          continue;
        }
        if (have.data('label') !== e.data.label || have.data('title') !== e.data.title || have.data('w') !== e.data.w || have.data('h') !== e.data.h) have.data({ ...e.data });
        if (e.position !== undefined) {
          const p = have.position();
          if (p.x !== e.position.x || p.y !== e.position.y) have.position({ ...e.position });
        }
        const transient = TRANSIENT.filter((c) => have.hasClass(c));
        const classes = [...e.classes.split(' '), ...transient].join(' ');
        if ((have.classes() as string[]).join(' ') !== classes) have.classes(classes);
      }
      // Nodes before edges: cytoscape needs both ends to exist.
      adds.sort((a, b) => (a.group === 'edges' ? 1 : 0) - (b.group === 'edges' ? 1 : 0));
      if (adds.length > 0) this.cy.add(adds);
    });
    if (!this.fitted) {
      this.fit();
      this.fitted = true;
    }
    for (const f of this.listeners) f(t);
  }

  /** The container changed size (a tab, the window): redraw and fit the whole cluster in it. */
  resize(): void {
    this.cy.resize();
    this.fit();
  }

  /**
   * The whole cluster in view, from the layout's own extent: cytoscape's fit() measures
   * every label first, which took seconds at 1 500 pods.
   */
  fit(): void {
    const w = this.cy.width();
    const h = this.cy.height();
    if (w === 0 || h === 0) return;
    const b = this.bounds;
    const pad = 20;
    const zoom = Math.max(this.cy.minZoom(), Math.min(this.cy.maxZoom(), (w - 2 * pad) / (b.x2 - b.x1), (h - 2 * pad) / (b.y2 - b.y1)));
    this.cy.viewport({ zoom, pan: { x: w / 2 - zoom * (b.x1 + b.x2) / 2, y: h / 2 - zoom * (b.y1 + b.y2) / 2 } });
  }

  /**
   * Light up the elements that carried traffic since the last call, and only those: one
   * restyle (one redraw) per call. The redraw's cost is measured, and
   * {@link activityPeriod} keeps redraws to about a tenth of the time however large
   * the cluster.
   */
  showActivity(ids: Iterable<string>): void {
    const now = this.cy.collection();
    for (const id of ids) now.merge(this.cy.getElementById(id));
    const was = this.cy.elements('.active');
    if (now.empty() && was.empty()) return;
    const t0 = performance.now();
    this.cy.one('render', () => { this.drawMs = performance.now() - t0; });
    this.cy.batch(() => {
      was.difference(now).removeClass('active');
      now.addClass('active');
    });
  }

  /** How often traffic highlights may redraw (ms): ten times the last redraw, between 250 ms and 5 s. */
  activityPeriod(): number {
    return Math.min(5000, Math.max(250, Math.round(this.drawMs * 10)));
  }

  clearClasses(...classes: string[]): void {
    this.cy.elements().removeClass(classes.join(' '));
  }

  /** Centre on an element without zooming in past the current zoom. */
  reveal(id: string): void {
    const e = this.cy.getElementById(id);
    if (e.empty()) return;
    this.cy.animate({ center: { eles: e } }, { duration: 200 });
  }
}
