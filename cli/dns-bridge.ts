/**
 * `netsim up --dns-listen HOST:PORT`: real DNS clients (dig, nslookup, a resolver)
 * reach the emulated cluster DNS. Each UDP datagram that arrives on the real socket
 * is sent, byte for byte, from an ephemeral UDP socket in the first node's root
 * namespace to the kube-dns ClusterIP, as `dig @10.96.0.10` run on that node would:
 * kube-proxy DNATs it to a CoreDNS pod (perhaps on another node, over flannel), and
 * the reply comes back un-NATed and is written to the real client. A real TCP
 * connection is relayed as one emulated TCP connection to the same address (the
 * byte stream as is, so DNS framing is the client's and the server's business).
 *
 * The emulated side answers when the driver advances virtual time (`netsim up`
 * follows the wall clock); a query the cluster does not answer within 10 s of
 * virtual time is forgotten, and the real client times out as it would.
 */
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Cluster } from '../cluster/cluster.ts';
import { SECOND } from '../netsim/time/scheduler.ts';
import { parseIpv4 } from '../netsim/wire/addr.ts';
import { CliError } from './cli-error.ts';

export interface DnsBridge {
  /** The real address both sockets listen on. */
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

const RELAY_TIMEOUT_NS = 10 * SECOND;

/** Start the bridge; port 0 picks a port free for both UDP and TCP. */
export async function startDnsBridge(cluster: Cluster, host: string, port: number): Promise<DnsBridge> {
  for (let tries = 0; ; tries++) {
    try {
      return await bridge(cluster, host, port);
    } catch (e) {
      // With port 0, the port UDP drew may be taken for TCP: draw again.
      if (port !== 0 || tries >= 5 || !(e instanceof CliError) || e.code !== 'NETSIM_ERR_LISTEN') throw e;
    }
  }
}

async function bridge(cluster: Cluster, host: string, port: number): Promise<DnsBridge> {
  const dns = cluster.dns;
  if (dns === undefined) throw new CliError('NETSIM_ERR_DNS_OFF', 'the cluster has no DNS add-on (spec dns.enabled is false): nothing to bridge --dns-listen to');
  const first = [...cluster.clusterNodes.values()][0];
  if (first === undefined) throw new CliError('NETSIM_ERR_DNS_OFF', 'the cluster has no node to send DNS queries from');
  const node = first.ns;
  const server = parseIpv4(dns.serviceIP);

  const udp: UdpSocket = createSocket('udp4');
  await new Promise<void>((ok, fail) => {
    udp.once('error', fail);
    udp.bind(port, host, () => { udp.off('error', fail); ok(); });
  }).catch((e: unknown) => {
    throw new CliError('NETSIM_ERR_LISTEN', `--dns-listen: UDP ${host}:${port}: ${(e as Error).message}`);
  });
  const bound = udp.address().port;
  udp.on('message', (msg, rinfo) => {
    const s = node.udp.bind(0);
    const timer = node.sim.clock.after(RELAY_TIMEOUT_NS, () => s.close());
    s.onMessage = (m) => {
      if (m.src !== server || m.sport !== 53) return;
      node.sim.clock.cancel(timer);
      s.close();
      udp.send(m.data, rinfo.port, rinfo.address);
    };
    s.send(server, 53, new Uint8Array(msg));
  });

  const conns = new Set<Socket>();
  const tcp: Server = createServer((sock) => {
    conns.add(sock);
    const c = node.tcp.connect(server, 53);
    let open = false;
    const queued: Uint8Array[] = [];
    c.onConnect = () => {
      open = true;
      for (const q of queued.splice(0)) c.send(q);
    };
    c.onData = (d) => { sock.write(d); };
    c.onEnd = () => { sock.end(); };
    c.onClose = () => { sock.destroy(); };
    sock.on('data', (d) => {
      const bytes = new Uint8Array(d);
      if (open) c.send(bytes);
      else queued.push(bytes);
    });
    sock.on('end', () => c.end());
    sock.on('error', () => c.abort());
    sock.on('close', () => conns.delete(sock));
  });
  await new Promise<void>((ok, fail) => {
    tcp.once('error', fail);
    tcp.listen(bound, host, () => { tcp.off('error', fail); ok(); });
  }).catch((e: unknown) => {
    udp.close();
    throw new CliError('NETSIM_ERR_LISTEN', `--dns-listen: TCP ${host}:${bound}: ${(e as Error).message}`);
  });
  return {
    host, port: bound,
    close: async () => {
      for (const s of conns) s.destroy();
      await new Promise<void>((ok) => tcp.close(() => ok()));
      await new Promise<void>((ok) => udp.close(() => ok()));
    },
  };
}
