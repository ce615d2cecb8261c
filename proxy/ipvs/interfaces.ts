/**
 * The narrow interfaces kube-proxy's IPVS mode programs a node through (upstream
 * utilipvs.Interface, utilipset.Interface and the proxier's NetLinkHandle).
 */
export type IpvsProtocol = 'TCP' | 'UDP' | 'SCTP';

/** One IPVS virtual server (ipvsadm -A). */
export interface VirtualServerSpec {
  readonly address: string;
  readonly port: number;
  readonly protocol: IpvsProtocol;
  readonly scheduler: string;
  /** ipvsadm -p: ClientIP affinity timeout in seconds. */
  readonly persistentTimeout?: number;
}

/** A real server as IPVS reports it (ipvsadm -Ln). */
export interface RealServerStatus {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly activeConn: number;
  readonly inactConn: number;
}

export interface IpvsInterface {
  listVirtualServers(): VirtualServerSpec[];
  /** Creates, or edits scheduler/persistence of, a virtual server. */
  ensureVirtualServer(vs: VirtualServerSpec): void;
  deleteVirtualServer(vs: Pick<VirtualServerSpec, 'address' | 'port' | 'protocol'>): void;
  listRealServers(vs: Pick<VirtualServerSpec, 'address' | 'port' | 'protocol'>): RealServerStatus[];
  /** Adds a real server, or sets its weight when present. */
  ensureRealServer(vs: Pick<VirtualServerSpec, 'address' | 'port' | 'protocol'>, address: string, port: number, weight: number): void;
  deleteRealServer(vs: Pick<VirtualServerSpec, 'address' | 'port' | 'protocol'>, address: string, port: number): void;
  /** `ipvsadm -Ln`. */
  list?(): string;
  /** Whether the virtual server is configured (the partial sync asks only about the changed ones). */
  hasVirtualServer?(vs: Pick<VirtualServerSpec, 'address' | 'port' | 'protocol'>): boolean;
  /** A number that moves whenever the table's configuration changes (the partial sync needs it unchanged since the last sync). */
  generation?(): number;
}

export interface IpsetInterface {
  /** `ipset restore` (atomic). */
  restore(text: string): void;
  /** `ipset save`. */
  save(): string;
  /** `ipset list`. */
  list?(): string;
  /** A number that moves whenever any set changes (lets a sync with nothing to do skip the restore). */
  generation?(): number;
  /** `ipset test SET ENTRY` (false when there is no such set). */
  testEntry?(set: string, entry: string): boolean;
}

/** Addresses on kube-ipvs0 and the node's own addresses. */
export interface NetlinkHandle {
  ensureDummyDevice(name: string): void;
  /** Returns whether the address was newly bound. */
  ensureAddressBind(address: string, dev: string): boolean;
  unbindAddress(address: string, dev: string): void;
  boundAddresses(dev: string): string[];
  /** The node's local IPv4 addresses other than loopback and `excludeDev` (NodePort virtual servers go on each). */
  nodeAddresses(excludeDev: string): string[];
}
