/**
 * flannel's backend abstraction (pkg/backend): one interface, one module per
 * backend, and an explicit typed registry. flanneld asks the backend for the
 * attributes to publish in its lease (vxlan: the VTEP MAC, which needs flannel.1
 * created first), then lets it configure the node for the lease it got, then feeds
 * it the other nodes' lease events.
 */
import type { NetNamespace } from '../../netsim/stack/net-namespace.ts';
import type { Rng } from '../../netsim/time/rng.ts';
import type { Ipv4Addr } from '../../netsim/wire/addr.ts';
import type { BackendType, FlannelNetworkConfig } from './network-config.ts';
import type { Lease } from './lease.ts';

export interface BackendContext {
  /** The node's root namespace. */
  readonly ns: NetNamespace;
  readonly config: FlannelNetworkConfig;
  /** The external interface (`--iface`, default eth0). */
  readonly extIface: string;
  /** Its address: the lease's PublicIP and the encapsulation source. */
  readonly publicIp: Ipv4Addr;
  readonly rng: Rng;
}

export interface Backend {
  readonly type: BackendType;
  /** MTU for pods (subnet.env FLANNEL_MTU): the external MTU minus the encapsulation. */
  readonly mtu: number;
  /** BackendData published in the lease (null for udp and host-gw). */
  readonly backendData: unknown;
  /** Program the node for its own lease (devices, addresses, sockets). */
  configure(lease: Lease): void;
  /** Another node's lease appeared (or was renewed): program the way there. */
  addPeer(lease: Lease): void;
  /** Another node's lease went away. */
  removePeer(lease: Lease): void;
  /** flanneld exits. */
  stop(): void;
}

export type BackendFactory = (ctx: BackendContext) => Backend;
