/**
 * `curl [-s] [-S] [-v] [-f] [-m SECS] [-o FILE] [-w FORMAT] [-H HDR] URL` over the pod's
 * TCP: one HTTP/1.1 GET, the response body on stdout, curl 8's messages and exit
 * codes (6 could not resolve, 7 could not connect, 28 timed out, 22 with -f on an
 * HTTP error, 52 empty reply, 56 receive failure). `-w` knows %{http_code},
 * %{remote_ip}, %{remote_port}, %{time_total} and \n.
 *
 * Not modelled: TLS (https:// fails as curl without TLS support does, exit 1), the
 * progress meter (as with -s), redirects, methods other than GET, request bodies.
 */
import type { ProgramContext } from './program.ts';
import { shortOptions } from './program.ts';
import { formatIpv4 } from '../../netsim/wire/addr.ts';
import type { TcpCloseReason } from '../../netsim/stack/tcp.ts';
import { SECOND, MS } from '../../netsim/time/scheduler.ts';

const CURL_VERSION = 'curl/8.5.0';

interface Outcome {
  readonly status?: number;
  readonly head?: string;
  readonly body?: Uint8Array;
  readonly error?: TcpCloseReason | 'timeout-connect' | 'timeout' | 'empty';
  readonly connected: boolean;
  readonly ms: number;
}

function parseUrl(u: string): { host: string; port: number; path: string; scheme: string } | undefined {
  const m = /^(?:([a-z]+):\/\/)?([^/:?#]+)(?::(\d{1,5}))?([^#]*)/.exec(u);
  if (m === null) return undefined;
  const scheme = m[1] ?? 'http';
  const port = m[3] !== undefined ? Number(m[3]) : scheme === 'https' ? 443 : 80;
  return { scheme, host: m[2] as string, port, path: m[4] === '' || m[4] === undefined ? '/' : m[4] };
}

function writeOut(format: string, v: { code: number; ip: string; port: number; seconds: number }): string {
  return format
    .replace(/%\{http_code\}|%\{response_code\}/g, String(v.code).padStart(3, '0'))
    .replace(/%\{remote_ip\}/g, v.ip)
    .replace(/%\{remote_port\}/g, String(v.port))
    .replace(/%\{time_total\}/g, v.seconds.toFixed(6))
    .replace(/\\n/g, '\n')
    .replace(/\\t/g, '\t');
}

export async function curl(ctx: ProgramContext): Promise<number> {
  // Long options people type, mapped to curl's short ones.
  const long: Record<string, string> = { '--silent': '-s', '--show-error': '-S', '--verbose': '-v', '--fail': '-f', '--max-time': '-m', '--output': '-o', '--write-out': '-w', '--header': '-H', '--connect-timeout': '-m' };
  const args = ctx.argv.slice(1).map((a) => long[a] ?? a);
  const o = shortOptions(args, 'mowH', 'sSvfLk');
  const silent = o.flags.has('s') && !o.flags.has('S');
  const fail = (code: number, msg: string): number => {
    if (!silent) ctx.stderr(`curl: (${code}) ${msg}\n`);
    return code;
  };
  if (o.bad !== undefined) {
    ctx.stderr(`curl: ${o.bad}\ncurl: try 'curl --help' for more information\n`);
    return 2;
  }
  const target = o.rest[0];
  if (target === undefined) {
    ctx.stderr("curl: no URL specified\ncurl: try 'curl --help' for more information\n");
    return 2;
  }
  const url = parseUrl(target);
  if (url === undefined || url.port < 1 || url.port > 65535) return fail(3, 'URL rejected: Malformed input to a URL function');
  if (url.scheme !== 'http') return fail(1, `Protocol "${url.scheme}" not supported`);
  const maxTime = o.values.has('m') ? Number(o.values.get('m')) : undefined;
  if (maxTime !== undefined && !(maxTime > 0)) return fail(2, `option -m: expected a proper numerical parameter`);
  const verbose = o.flags.has('v');
  const dst = await ctx.resolve(url.host);
  if (dst === undefined) return fail(6, `Could not resolve host: ${url.host}`);
  const ip = formatIpv4(dst);
  if (verbose) ctx.stderr(`*   Trying ${ip}:${url.port}...\n`);
  const clock = ctx.ns.sim.clock;
  const start = clock.now();
  const extra = [...o.values.entries()].filter(([k]) => k === 'H').map(([, v]) => v);
  const request = `GET ${url.path} HTTP/1.1\r\nHost: ${url.host}${url.port !== 80 ? `:${url.port}` : ''}\r\nUser-Agent: ${CURL_VERSION}\r\nAccept: */*\r\n${extra.map((h) => `${h}\r\n`).join('')}\r\n`;
  const outcome = await new Promise<Outcome>((done) => {
    const conn = ctx.ns.tcp.connect(dst, url.port);
    let connected = false;
    let buf = new Uint8Array(0);
    let finished = false;
    const finish = (r: Omit<Outcome, 'connected' | 'ms'>): void => {
      if (finished) return;
      finished = true;
      clock.cancel(timer);
      done({ ...r, connected, ms: (clock.now() - start) / MS });
    };
    const timer = clock.after(maxTime !== undefined ? Math.round(maxTime * SECOND) : 300 * SECOND, () => {
      conn.abort();
      finish({ error: connected ? 'timeout' : 'timeout-connect' });
    });
    const complete = (): boolean => {
      const text = new TextDecoder('latin1').decode(buf);
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return false;
      const head = text.slice(0, end);
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const bodyStart = end + 4;
      if (len !== null && buf.length - bodyStart < Number(len[1])) return false;
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      finish({ status, head, body: buf.subarray(bodyStart, len !== null ? bodyStart + Number(len[1]) : buf.length) });
      conn.end();
      return true;
    };
    conn.onConnect = () => {
      connected = true;
      if (verbose) ctx.stderr(`* Connected to ${url.host} (${ip}) port ${url.port}\n${request.split('\r\n').slice(0, -1).map((l) => `> ${l}\n`).join('')}`);
      conn.send(request);
    };
    conn.onData = (data) => {
      const next = new Uint8Array(buf.length + data.length);
      next.set(buf);
      next.set(data, buf.length);
      buf = next;
      complete();
    };
    conn.onEnd = () => {
      if (!complete()) finish(buf.length === 0 ? { error: 'empty' } : { error: 'reset' });
    };
    conn.onClose = (reason) => {
      if (!complete()) finish({ error: reason });
    };
  });
  const ms = Math.round(outcome.ms);
  if (outcome.status === undefined) {
    switch (outcome.error) {
      case 'timeout-connect': return fail(28, `Failed to connect to ${url.host} port ${url.port} after ${ms} ms: Timeout was reached`);
      case 'timeout': return fail(28, `Operation timed out after ${ms} milliseconds with 0 bytes received`);
      case 'empty': return fail(52, 'Empty reply from server');
      case 'refused':
      case 'unreachable': return fail(7, `Failed to connect to ${url.host} port ${url.port} after ${ms} ms: ${outcome.error === 'refused' ? "Couldn't connect to server" : 'No route to host'}`);
      default: return outcome.connected ? fail(56, 'Recv failure: Connection reset by peer') : fail(7, `Failed to connect to ${url.host} port ${url.port} after ${ms} ms: Couldn't connect to server`);
    }
  }
  if (verbose) ctx.stderr(`${(outcome.head ?? '').split('\r\n').map((l) => `< ${l}\n`).join('')}< \n* Connection #0 to host ${url.host} left intact\n`);
  if (o.flags.has('f') && outcome.status >= 400) return fail(22, `The requested URL returned error: ${outcome.status}`);
  const out = o.values.get('o');
  if (out === undefined || out === '-') ctx.stdout(new TextDecoder().decode(outcome.body));
  else if (out !== '/dev/null') {
    ctx.stderr(`curl: (23) Failed writing body: ${out} is not writable in this pod\n`);
    return 23;
  }
  const w = o.values.get('w');
  if (w !== undefined) ctx.stdout(writeOut(w, { code: outcome.status, ip, port: url.port, seconds: outcome.ms / 1000 }));
  return 0;
}
