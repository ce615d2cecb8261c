/**
 * netsim/overlay — tunnel devices built on the namespace stack: VXLAN (flannel.1).
 * The flannel UDP backend's encapsulation is userspace work (flanneld reading the
 * flannel0 TUN) and lives with flanneld in cni/; its TUN device is in link/.
 */
export * from './vxlan-device.ts';
