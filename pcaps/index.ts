/**
 * pcaps — capture files from the emulator's trace bus.
 *
 * Contract: a {@link Capture} taps rx/tx trace events (with bytes) and encodes them
 * as pcapng: one section, one Interface Description Block per emulated interface
 * (`<netns>/<dev>`, Ethernet or raw IPv4), Enhanced Packet Blocks with direction
 * flags, nanosecond virtual timestamps and the trace id as a comment, and a Name
 * Resolution Block for pod names. pcapng rather than classic pcap because one
 * capture spans interfaces of different link types; the npm `pcap-parser` package
 * reads only classic pcap, so it cannot read these files (tshark is the oracle in
 * tests).
 *
 * Not modelled (yet): a pcapng/pcap reader, classic-pcap single-interface export,
 * Interface Statistics Blocks, multiple sections.
 */
export * from './pcapng-encode.ts';
export * from './capture.ts';
