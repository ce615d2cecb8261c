/**
 * The plugin binaries of this emulator, by type: the explicit registry a node's
 * CNI_PATH resolves against (no registration by import side effect).
 */
import type { CniPlugin } from '../plugin.ts';
import { bridge } from './bridge.ts';
import { hostLocal } from './host-local.ts';
import { loopback } from './loopback.ts';
import { portmap } from './portmap.ts';
import { flannel } from './flannel.ts';

export type PluginType = 'bridge' | 'host-local' | 'loopback' | 'portmap' | 'flannel';

export const PLUGINS = {
  bridge,
  'host-local': hostLocal,
  loopback,
  portmap,
  flannel,
} as const satisfies Record<PluginType, CniPlugin>;

export { bridge, hostLocal, loopback, portmap, flannel };
