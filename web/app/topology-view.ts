/**
 * The topology picture: cytoscape.js draws the elements web/model/topology-elements.ts
 * places (a preset layout), restyles them when the system theme changes, and takes
 * updates in place (new pods appear, gone ones leave, readiness recolours) without
 * moving the viewport. Trace and flow highlights are classes on elements.
 */
import cytoscape from 'cytoscape';
import type { Core, ElementDefinition, StylesheetJson } from 'cytoscape';
import type { Topology } from '../../observe/topology.ts';
import { topologyElements } from '../model/topology-elements.ts';
import { $, cssVar } from './dom.ts';

function stylesheet(): StylesheetJson {
  const c = (n: string): string => cssVar(n) || '#888';
  return [
    { selector: 'node', style: { label: 'data(label)', 'font-size': 10, 'text-wrap': 'wrap', 'text-valign': 'center', 'text-halign': 'center', color: c('--fg'), 'border-width': 1, 'border-color': c('--border'), 'background-color': c('--panel'), shape: 'round-rectangle', width: 130, height: 40 } },
    { selector: 'node.node', style: { 'background-color': c('--node'), 'text-valign': 'top', 'text-halign': 'center', 'font-size': 13, 'font-weight': 'bold', padding: '18px', 'border-width': 2 } },
    { selector: 'node.pod', style: { 'background-color': c('--pod'), 'border-color': c('--pod-border'), 'border-width': 2 } },
    { selector: 'node.pod.notready', style: { 'border-color': c('--bad'), 'border-style': 'dashed' } },
    { selector: 'node.device', style: { 'background-color': c('--device'), width: 120, height: 34 } },
    { selector: 'node.flannel', style: { 'background-color': c('--flannel') } },
    { selector: 'node.service', style: { 'background-color': c('--service'), shape: 'ellipse', width: 140, height: 46 } },
    { selector: 'node.network', style: { shape: 'rectangle', width: 260, height: 14, 'background-color': c('--edge'), 'text-valign': 'bottom', 'text-margin-y': 4 } },
    { selector: 'node.router, node.host', style: { 'background-color': c('--host'), shape: 'round-hexagon', width: 130, height: 44 } },
    { selector: 'edge', style: { width: 1.5, 'line-color': c('--edge'), 'curve-style': 'bezier', 'font-size': 8, color: c('--muted') } },
    { selector: 'edge.veth', style: { label: 'data(label)', 'text-rotation': 'autorotate', 'text-background-color': c('--node'), 'text-background-opacity': 1 } },
    { selector: 'edge.internal', style: { 'line-style': 'dotted' } },
    { selector: 'edge.wire', style: { width: 3 } },
    { selector: 'edge.endpoint', style: { 'line-style': 'dashed', 'line-color': c('--ok'), 'target-arrow-shape': 'triangle', 'target-arrow-color': c('--ok'), opacity: 0.6 } },
    { selector: 'edge.endpoint.notready', style: { 'line-color': c('--bad'), 'target-arrow-color': c('--bad') } },
    { selector: '.active', style: { 'border-color': c('--hop'), 'border-width': 4 } },
    { selector: '.path', style: { 'border-color': c('--hop'), 'line-color': c('--hop'), 'border-width': 3, width: 4 } },
    { selector: '.reply-path', style: { 'border-color': c('--reply'), 'line-color': c('--reply'), 'border-width': 3, width: 4 } },
    { selector: '.current', style: { 'border-color': c('--hop'), 'line-color': c('--hop'), 'border-width': 6, width: 7, 'overlay-color': c('--hop'), 'overlay-opacity': 0.25, 'overlay-padding': 6 } },
    { selector: 'node.node.current', style: { 'overlay-opacity': 0.08 } },
    { selector: ':selected', style: { 'overlay-color': c('--accent'), 'overlay-opacity': 0.2, 'overlay-padding': 4 } },
  ];
}

export class TopologyView {
  readonly cy: Core;
  private fitted = false;
  private readonly listeners: Array<(t: Topology) => void> = [];
  topology: Topology | undefined;

  constructor(onSelect: (id: string) => void) {
    this.cy = cytoscape({ container: $('cy'), style: stylesheet(), layout: { name: 'preset' }, minZoom: 0.05, maxZoom: 3, boxSelectionEnabled: false, autoungrabify: true });
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
    $('fit').addEventListener('click', () => this.cy.fit(undefined, 20));
  }

  onChange(f: (t: Topology) => void): void {
    this.listeners.push(f);
  }

  /** Draw `t`: existing elements keep their place and classes beyond their kind; new ones appear; gone ones leave. */
  update(t: Topology): void {
    this.topology = t;
    const els = topologyElements(t);
    const want = new Set(els.map((e) => e.data.id));
    this.cy.batch(() => {
      this.cy.elements().filter((e) => !want.has(e.id())).remove();
      // Nodes before edges, parents before children: cytoscape needs both ends and the parent to exist.
      const ordered = [...els.filter((e) => e.group === 'nodes' && e.data.parent === undefined), ...els.filter((e) => e.group === 'nodes' && e.data.parent !== undefined), ...els.filter((e) => e.group === 'edges')];
      for (const e of ordered) {
        const have = this.cy.getElementById(e.data.id);
        if (have.nonempty()) {
          have.data(e.data);
          if (e.position !== undefined) have.position(e.position);
          const keep = ['active', 'path', 'reply-path', 'current'].filter((c) => have.hasClass(c));
          have.classes([...e.classes.split(' '), ...keep].join(' '));
        } else {
          this.cy.add({ group: e.group, data: { ...e.data }, ...(e.position !== undefined ? { position: { ...e.position } } : {}), classes: e.classes } as ElementDefinition);
        }
      }
    });
    if (!this.fitted) {
      this.cy.fit(undefined, 20);
      this.fitted = true;
    }
    for (const f of this.listeners) f(t);
  }

  /** The container changed size (a tab, the window): redraw and fit the whole cluster in it. */
  resize(): void {
    this.cy.resize();
    if (this.cy.width() > 0) this.cy.fit(undefined, 20);
  }

  /** Flash elements that just carried traffic. */
  flash(ids: Iterable<string>): void {
    const els = this.cy.collection();
    for (const id of ids) els.merge(this.cy.getElementById(id));
    if (els.empty()) return;
    els.addClass('active');
    setTimeout(() => els.removeClass('active'), 600);
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
