/**
 * pcapng numbers shared by the writer and the reader
 * (draft-ietf-opsawg-pcapng; https://github.com/pcapng/pcapng).
 */

/** LINKTYPE_ETHERNET (https://www.tcpdump.org/linktypes.html): veths, bridges, eth0, flannel.1. */
export const LINKTYPE_ETHERNET = 1;
/** LINKTYPE_RAW: packets start at the IP header — the flannel0 TUN. Not 12 (DLT_RAW varies by OS). */
export const LINKTYPE_RAW = 101;

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
/** Obsolete Packet Block (read only). */
export const BT_OPB = 0x00000002;
export const BT_SPB = 0x00000003;
export const BT_NRB = 0x00000004;
export const BT_EPB = 0x00000006;
/** SHB byte-order magic: reads as this value in the section's byte order. */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const SHB_HARDWARE = 2;
export const SHB_OS = 3;
export const SHB_USERAPPL = 4;
export const IF_NAME = 2;
export const IF_DESCRIPTION = 3;
export const IF_TSRESOL = 9;
export const IF_TSOFFSET = 14;
/** epb_flags (and pack_flags in the obsolete packet block): bits 0–1 are the direction. */
export const EPB_FLAGS = 2;
export const NRB_RECORD_END = 0;
export const NRB_RECORD_IPV4 = 1;
export const NRB_RECORD_IPV6 = 2;

/** epb_flags direction values (bits 0–1). */
export const DIRECTION_INBOUND = 1;
export const DIRECTION_OUTBOUND = 2;

/** tcpdump's default (and libpcap's maximum) snapshot length. */
export const DEFAULT_SNAPLEN = 262144;

export type Direction = 'inbound' | 'outbound';
