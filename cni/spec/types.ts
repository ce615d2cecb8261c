/**
 * CNI 1.1.0 data: network configurations, the plugin environment, results.
 * Field names are the spec's JSON names.
 */

/** One plugin's configuration as it arrives on stdin (the spec's "plugin configuration object"). */
export interface PluginConf {
  cniVersion: string;
  name: string;
  type: string;
  capabilities?: Record<string, boolean>;
  runtimeConfig?: Record<string, unknown>;
  args?: Record<string, unknown>;
  ipam?: IpamConf;
  dns?: Dns;
  prevResult?: unknown;
  /** Plugin-specific fields. */
  [field: string]: unknown;
}

export interface IpamConf {
  type: string;
  [field: string]: unknown;
}

/** A network configuration list (`*.conflist`). */
export interface NetConfList {
  cniVersion: string;
  /** 1.1.0: the versions the list is valid for. */
  cniVersions?: string[];
  name: string;
  disableCheck?: boolean;
  /** 1.1.0 */
  disableGC?: boolean;
  plugins: PluginConf[];
}

export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface ResultInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface ResultIp {
  address: string;
  gateway?: string;
  interface?: number;
}

export interface ResultRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

/** A 1.x ADD result. IPAM plugins leave `interfaces` out. */
export interface CniResult {
  cniVersion: string;
  interfaces?: ResultInterface[];
  ips?: ResultIp[];
  routes?: ResultRoute[];
  dns: Dns;
}

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** The environment a plugin runs with, as a plain map (what `exec` gives a real binary). */
export type CniEnv = Readonly<Record<string, string>>;

/** The validated environment. */
export interface CniArgs {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS as key/value pairs, in order. */
  args: Array<[string, string]>;
  path: string[];
}

/** One attachment named in GC's `cni.dev/valid-attachments`. */
export interface Attachment {
  containerID: string;
  ifname: string;
}
