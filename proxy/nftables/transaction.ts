/**
 * The objects kube-proxy's nftables mode writes and the `nft -f` text of a
 * transaction, as knftables (sigs.k8s.io/knftables objects.go writeOperation)
 * renders them for one table: one operation per line,
 *
 *   add table ip kube-proxy { comment "rules for kube-proxy" ; }
 *   add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
 *   add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
 *   add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
 *   add element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 : goto service-… }
 *   delete element ip kube-proxy service-ips { 172.30.0.41 . tcp . 80 }
 *
 * Objects are data; the text is a rendering (the interface to the node's nftables is
 * this text, exactly what `nft -f` reads). Priorities are written as numbers, as
 * knftables does after ParsePriority (older nft refuses some named priorities).
 */

export type NftVerb = 'add' | 'create' | 'flush' | 'delete' | 'destroy';

export interface NftTable { readonly kind: 'table'; readonly comment?: string }
export interface NftChain {
  readonly kind: 'chain';
  readonly name: string;
  readonly type?: 'filter' | 'nat' | 'route';
  readonly hook?: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';
  readonly priority?: number;
  readonly comment?: string;
}
export interface NftRule { readonly kind: 'rule'; readonly chain: string; readonly rule: string; readonly comment?: string }
export interface NftSet {
  readonly kind: 'set';
  readonly name: string;
  readonly type?: string;
  readonly flags?: readonly string[];
  /** Seconds. */
  readonly timeout?: number;
  readonly comment?: string;
}
export interface NftMap { readonly kind: 'map'; readonly name: string; readonly type?: string; readonly comment?: string }
export interface NftElement {
  readonly kind: 'element';
  /** The set or map holding the element. */
  readonly container: string;
  readonly containerKind: 'set' | 'map';
  readonly key: readonly string[];
  readonly value?: readonly string[];
  readonly comment?: string;
}
export type NftObject = NftTable | NftChain | NftRule | NftSet | NftMap | NftElement;

export interface NftOperation {
  readonly verb: NftVerb;
  readonly obj: NftObject;
}

/** The table every object belongs to (kube-proxy's: `ip kube-proxy`). */
export interface NftTableRef {
  readonly family: 'ip' | 'inet';
  readonly table: string;
}

function q(s: string): string {
  return JSON.stringify(s);
}

/** One operation as knftables writes it (without the newline). */
export function renderOperation(op: NftOperation, t: NftTableRef): string {
  const { verb, obj } = op;
  const creating = verb === 'add' || verb === 'create';
  const at = `${t.family} ${t.table}`;
  switch (obj.kind) {
    case 'table':
      return `${verb} table ${at}${creating && obj.comment !== undefined ? ` { comment ${q(obj.comment)} ; }` : ''}`;
    case 'chain': {
      let s = `${verb} chain ${at} ${obj.name}`;
      if (creating && (obj.type !== undefined || obj.comment !== undefined)) {
        s += ' {';
        if (obj.type !== undefined) s += ` type ${obj.type} hook ${obj.hook ?? ''} priority ${obj.priority ?? 0} ;`;
        if (obj.comment !== undefined) s += ` comment ${q(obj.comment)} ;`;
        s += ' }';
      }
      return s;
    }
    case 'rule':
      return `${verb} rule ${at} ${obj.chain} ${obj.rule}${obj.comment !== undefined ? ` comment ${q(obj.comment)}` : ''}`;
    case 'set':
    case 'map': {
      let s = `${verb} ${obj.kind} ${at} ${obj.name}`;
      if (creating) {
        s += ` { type ${obj.type ?? ''} ;`;
        if (obj.kind === 'set' && obj.flags !== undefined && obj.flags.length > 0) s += ` flags ${obj.flags.join(',')} ;`;
        if (obj.kind === 'set' && obj.timeout !== undefined) s += ` timeout ${obj.timeout}s ;`;
        if (obj.comment !== undefined) s += ` comment ${q(obj.comment)} ;`;
        s += ' }';
      }
      return s;
    }
    case 'element': {
      let s = `${verb} element ${at} ${obj.container} { ${obj.key.join(' . ')}`;
      if (creating) {
        if (obj.comment !== undefined) s += ` comment ${q(obj.comment)}`;
        if (obj.value !== undefined && obj.value.length > 0) s += ` : ${obj.value.join(' . ')}`;
      }
      return `${s} }`;
    }
  }
}

/** knftables.Transaction: operations in order, applied by the node all or nothing. */
export class NftTransaction {
  readonly operations: NftOperation[] = [];

  constructor(readonly table: NftTableRef) {}

  add(obj: NftObject): void {
    this.operations.push({ verb: 'add', obj });
  }
  flush(obj: NftObject): void {
    this.operations.push({ verb: 'flush', obj });
  }
  delete(obj: NftObject): void {
    this.operations.push({ verb: 'delete', obj });
  }

  get numOperations(): number {
    return this.operations.length;
  }

  /** The `nft -f` input. */
  toString(): string {
    let out = '';
    for (const op of this.operations) out += `${renderOperation(op, this.table)}\n`;
    return out;
  }
}
