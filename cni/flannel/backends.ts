/** The flannel backends, by `Backend.Type` (explicit registry; no registration by import side effect). */
import type { BackendFactory } from './backend.ts';
import type { BackendType } from './network-config.ts';
import { createUdpBackend } from './udp.ts';
import { createVxlanBackend } from './vxlan.ts';
import { createHostGwBackend } from './host-gw.ts';

export const BACKENDS = {
  udp: createUdpBackend,
  vxlan: createVxlanBackend,
  'host-gw': createHostGwBackend,
} as const satisfies Record<BackendType, BackendFactory>;
