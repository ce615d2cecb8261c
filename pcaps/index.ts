/**
 * pcaps — capture files: pcapng and classic pcap codecs, and a capture tap on the
 * trace bus.
 *
 * Contract. The codecs are self-contained (no imports from the rest of the
 * project): byte arrays in, byte arrays out, timestamps always from the caller as
 * nanoseconds (`bigint`) — never the wall clock.
 * - {@link PcapngWriter} writes one pcapng section: a Section Header Block
 *   (`shb_userappl` "netsim", optional `shb_hardware`/`shb_os`/comments), an
 *   Interface Description Block per emulated interface (`if_name` like
 *   `node01/eth0`, link type 1 Ethernet or 101 raw IP, snaplen, `if_tsresol` = 9),
 *   Enhanced Packet Blocks (ns timestamps, direction in `epb_flags`, `opt_comment`
 *   carrying the trace id) and Name Resolution Blocks (IP → pod names). In memory
 *   (`toBytes()`) or streamed to a {@link ChunkSink} (a callback, or `fdSink(fd)`)
 *   in 1 MiB batches.
 * - {@link PcapWriter} writes classic libpcap for single-interface exports
 *   (nanosecond magic by default, `resolution: 'us'` for old tools).
 * - {@link readCapture} sniffs the magic and dispatches to {@link readPcapng} or
 *   {@link readPcap}; both byte orders, pcap µs/ns, pcapng SHB/IDB/EPB/SPB/NRB
 *   (and the obsolete Packet Block), unknown blocks skipped. Input is untrusted:
 *   malformed files throw {@link CaptureError} with a stable `code` and the byte
 *   `offset` — never another exception, never an endless loop.
 * - {@link Capture} (capture.ts) is the tap: it subscribes to netsim's trace bus
 *   and feeds a PcapngWriter. It is the only file here that imports the project.
 *
 * Why our own pcapng reader: the npm `pcap-parser` package (the design card's
 * choice) reads only classic pcap — and only the microsecond magic — so it
 * cannot read pcapng at all (it fails with "unknown magic number: 0a0d0d0a").
 * It serves in the tests as an independent second reader of our classic-pcap
 * output; tshark/capinfos are the oracle for pcapng.
 *
 * Not modelled: more than one pcapng section per file on write (the reader reads
 * any number), Interface Statistics Blocks on write (skipped on read), Decryption
 * Secrets Blocks, systemd journal and custom blocks (skipped on read), compressed
 * files (gzip/zstd), the modified (Kuznetzov) pcap format, per-packet hashes,
 * drop counts and verdicts, and streaming reads (readers take the whole file;
 * packet data are views into it).
 */
export * from './capture-error.ts';
export type * from './capture-types.ts';
export * from './byte-writer.ts';
export * from './pcapng-constants.ts';
export * from './pcapng-writer.ts';
export * from './pcap-writer.ts';
export * from './pcapng-reader.ts';
export * from './pcap-reader.ts';
export * from './read-capture.ts';
export * from './capture.ts';
