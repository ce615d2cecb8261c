#!/usr/bin/env node
// Raw-socket agent for one Linux network namespace, started by the verifier as
// `ip netns exec NS node raw-helper.mjs`. Plain JavaScript (no tsx) so it starts
// fast. It opens raw IPv4 sockets (the `raw-socket` native addon):
// - one per transport protocol (ICMP, UDP, TCP) that receives a copy of every
//   packet of that protocol the namespace delivers locally (raw_local_deliver,
//   after INPUT), IP header included;
// - one IPPROTO_RAW socket with IP_HDRINCL that injects complete IPv4 packets as
//   locally generated traffic (OUTPUT, POSTROUTING, neighbour, device).
// It speaks JSON lines: stdin {"send":HEX,"dst":"A.B.C.D","id":N} (or {"quit":1});
// stdout {"ready":true}, {"sent":N}|{"sendError":N,"message":…}, {"rx":HEX,"proto":P,"t":MS}.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let raw;
try {
  raw = require('raw-socket');
} catch (e) {
  out({ fatal: `cannot load raw-socket: ${e instanceof Error ? e.message : String(e)}` });
  process.exit(3);
}

const t0 = process.hrtime.bigint();
const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
const receivers = [];
try {
  for (const protocol of [1, 6, 17]) {
    const s = raw.createSocket({ addressFamily: raw.AddressFamily.IPv4, protocol });
    s.on('message', (buf) => out({ rx: Buffer.from(buf).toString('hex'), proto: protocol, t: ms() }));
    s.on('error', (e) => out({ rxError: protocol, message: String(e && e.message) }));
    receivers.push(s);
  }
} catch (e) {
  out({ fatal: `cannot open raw sockets: ${e instanceof Error ? e.message : String(e)}` });
  process.exit(3);
}
const sender = raw.createSocket({ addressFamily: raw.AddressFamily.IPv4, protocol: 255 });
sender.setOption(raw.SocketLevel.IPPROTO_IP, raw.SocketOption.IP_HDRINCL, 1);
sender.on('error', (e) => out({ sendError: -1, message: String(e && e.message) }));

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let m;
  try { m = JSON.parse(line); } catch { return; }
  if (m.quit) return shutdown();
  if (typeof m.send === 'string') {
    const b = Buffer.from(m.send, 'hex');
    sender.send(b, 0, b.length, m.dst, null, (err) => {
      if (err) out({ sendError: m.id, message: err.message });
      else out({ sent: m.id, t: ms() });
    });
  }
});
rl.on('close', shutdown);
function shutdown() {
  for (const s of receivers) s.close();
  sender.close();
  process.exit(0);
}
out({ ready: true });
