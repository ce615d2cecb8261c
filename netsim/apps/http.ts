/**
 * A tiny HTTP/1.1 server and client over the emulated TCP, enough for the seed
 * scenario: nginx pods that answer "Hello World, Kubernetes!" with their pod name,
 * and clients that record each response (status, body, virtual timings, which pod
 * answered). Keep-alive is honoured; requests are parsed strictly enough that a
 * malformed one gets `400 Bad Request`, never an exception.
 */
import type { NetNamespace } from '../stack/net-namespace.ts';
import type { TcpConnection, TcpCloseReason, TcpListener } from '../stack/tcp.ts';
import type { Ipv4Addr } from '../wire/addr.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();

export interface HttpServerOptions {
  port?: number;
  /** Shown in the body, like the seed's pages served per pod. */
  podName: string;
  /** `Server:` header (default `nginx/1.27.0`). */
  server?: string;
  /** Body override; default `Hello World, Kubernetes! from <podName>\n`. */
  body?: string;
  /** Health for `/healthz` and `/readyz` (a failing app answers 503 there and still serves pages). */
  healthy?: () => boolean;
  /** Extra paths and their bodies (CoreDNS's `/health` on 8080, `/ready` on 8181, `/metrics` on 9153). */
  pages?: Readonly<Record<string, string>>;
  /** Called once per answered request (nginx's access log); nothing is parsed for it when absent. */
  onAccess?: (entry: HttpAccess) => void;
  /**
   * A Go net/http handler instead of the nginx pages: every request is answered with
   * its reply, written as Go writes a response (the handler's headers sorted, then
   * Date when `date` is given, then Content-Length; no Server header).
   */
  route?: (method: string, path: string) => { readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: string };
  /** The wall clock for the Date header of routed replies. */
  date?: () => Date;
  /** Bind address (default every address). */
  address?: Ipv4Addr;
}

/** Reason phrases of the statuses the servers here send. */
const REASONS: Readonly<Record<number, string>> = { 200: 'OK', 400: 'Bad Request', 404: 'Not Found', 503: 'Service Unavailable' };

/** What nginx's `combined` access log records of one request. */
export interface HttpAccess {
  readonly remoteAddr: Ipv4Addr;
  readonly request: string;
  readonly status: number;
  readonly bytes: number;
  readonly referer: string;
  readonly userAgent: string;
}

export interface HttpServer {
  readonly listener: TcpListener;
  /** Requests answered. */
  requests: number;
  close(): void;
}

/** Start an nginx-like responder on `port` (default 80). */
export function startHttpServer(ns: NetNamespace, opts: HttpServerOptions): HttpServer {
  const body = opts.body ?? `Hello World, Kubernetes! from ${opts.podName}\n`;
  const server: HttpServer = {
    requests: 0,
    listener: ns.tcp.listen(opts.port ?? 80, (c) => serve(c), opts.address ?? 0),
    close: () => server.listener.close(),
  };
  const serve = (c: TcpConnection): void => {
    let buf = '';
    c.onData = (data) => {
      buf += dec.decode(data);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > 8192) {
            respond(c, 400, 'Bad Request', '<html><body><h1>400 Bad Request</h1></body></html>\n', false);
            buf = '';
          }
          return;
        }
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const eol = head.indexOf('\r\n');
        const m = /^(GET|HEAD|POST|PUT|DELETE) (\S+) HTTP\/1\.([01])$/.exec(eol < 0 ? head : head.slice(0, eol));
        if (m === null) {
          respond(c, 400, 'Bad Request', '<html><body><h1>400 Bad Request</h1></body></html>\n', false);
          return;
        }
        // The last `Connection:` header counts (names and values compared lowercased). Lines
        // are walked in place: a split per request showed in profiles of a million requests.
        let connection: string | undefined;
        let userAgent = '-';
        let referer = '-';
        for (let p = eol < 0 ? head.length : eol + 2; p < head.length;) {
          let e = head.indexOf('\r\n', p);
          if (e < 0) e = head.length;
          const i = head.indexOf(':', p);
          if (i >= 0 && i < e) {
            const name = head.slice(p, i).trim();
            if (name.length === 10 && name.toLowerCase() === 'connection') connection = head.slice(i + 1, e).trim().toLowerCase();
            else if (opts.onAccess !== undefined && name.length === 10 && name.toLowerCase() === 'user-agent') userAgent = head.slice(i + 1, e).trim();
            else if (opts.onAccess !== undefined && name.length === 7 && name.toLowerCase() === 'referer') referer = head.slice(i + 1, e).trim();
          }
          p = e + 2;
        }
        const keepAlive = m[3] === '1' ? connection !== 'close' : connection === 'keep-alive';
        server.requests++;
        const path = m[2] as string;
        const health = path === '/healthz' || path === '/readyz';
        let status: number;
        let text: string;
        if (opts.route !== undefined) {
          const r = opts.route(m[1] as string, path);
          routed(c, r.status, r.headers, text = m[1] === 'HEAD' ? '' : r.body, keepAlive);
          status = r.status;
        } else if (health && opts.healthy !== undefined && !opts.healthy()) respond(c, status = 503, 'Service Unavailable', text = 'unhealthy\n', keepAlive);
        else if (path === '/' || path === '/hello.html' || path === '/index.html' || health) respond(c, status = 200, 'OK', text = m[1] === 'HEAD' ? '' : body, keepAlive);
        else if (opts.pages?.[path] !== undefined) respond(c, status = 200, 'OK', text = m[1] === 'HEAD' ? '' : opts.pages[path], keepAlive);
        else respond(c, status = 404, 'Not Found', text = '<html><body><h1>404 Not Found</h1></body></html>\n', keepAlive);
        if (opts.onAccess !== undefined) {
          opts.onAccess({ remoteAddr: c.remoteAddr, request: eol < 0 ? head : head.slice(0, eol), status, bytes: text === body ? bodyBytes.length : enc.encode(text).length, referer, userAgent });
        }
        if (!keepAlive) return;
      }
    };
    c.onEnd = () => c.end();
  };
  // Encoded once: the page and its two response heads (TCP copies what it sends).
  const bodyBytes = enc.encode(body);
  const okHeads: [Uint8Array | undefined, Uint8Array | undefined] = [undefined, undefined];
  const head = (status: number, reason: string, length: number, keepAlive: boolean): string =>
    `HTTP/1.1 ${status} ${reason}\r\nServer: ${opts.server ?? 'nginx/1.27.0'}\r\nContent-Type: text/plain\r\nContent-Length: ${length}\r\nConnection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`;
  const routed = (c: TcpConnection, status: number, headers: Readonly<Record<string, string>>, text: string, keepAlive: boolean): void => {
    const bytes = enc.encode(text);
    let h = `HTTP/1.1 ${status} ${REASONS[status] ?? ''}\r\n`;
    for (const k of Object.keys(headers).sort()) h += `${k}: ${headers[k] as string}\r\n`;
    if (!keepAlive) h += 'Connection: close\r\n';
    if (opts.date !== undefined) h += `Date: ${opts.date().toUTCString()}\r\n`;
    c.send(`${h}Content-Length: ${bytes.length}\r\n\r\n`);
    if (bytes.length > 0) c.send(bytes);
    if (!keepAlive) c.end();
  };
  const respond = (c: TcpConnection, status: number, reason: string, text: string, keepAlive: boolean): void => {
    if (status === 200 && text === body) {
      const k = keepAlive ? 1 : 0;
      const h = okHeads[k] ?? (okHeads[k] = enc.encode(head(200, reason, bodyBytes.length, keepAlive)));
      c.send(h);
      if (bodyBytes.length > 0) c.send(bodyBytes);
    } else {
      const bytes = enc.encode(text);
      c.send(head(status, reason, bytes.length, keepAlive));
      if (bytes.length > 0) c.send(bytes);
    }
    if (!keepAlive) c.end();
  };
  return server;
}

export interface HttpResult {
  readonly status: number;
  readonly body: string;
  readonly headers: ReadonlyMap<string, string>;
  /** Virtual time the request was sent and the response completed. */
  readonly sentAt: number;
  readonly doneAt: number;
}

export interface HttpClientSession {
  readonly conn: TcpConnection;
  readonly results: HttpResult[];
  /** Set when the connection failed before all responses arrived. */
  error: TcpCloseReason | undefined;
  errorDetail: string;
  done: boolean;
}

/**
 * Open one connection to `dst:port` and send `requests` GETs on it one after another
 * (keep-alive when more than one), then close.
 */
export function httpGet(ns: NetNamespace, dst: Ipv4Addr, port: number, opts: { path?: string; host?: string; requests?: number; userAgent?: string; onDone?: (s: HttpClientSession) => void } = {}): HttpClientSession {
  const total = opts.requests ?? 1;
  const conn = ns.tcp.connect(dst, port);
  const session: HttpClientSession = { conn, results: [], error: undefined, errorDetail: '', done: false };
  let buf = new Uint8Array(0);
  let sentAt = 0;
  const clock = ns.sim.clock;
  const request = (): void => {
    const last = session.results.length + 1 === total;
    sentAt = clock.now();
    conn.send(`GET ${opts.path ?? '/'} HTTP/1.1\r\nHost: ${opts.host ?? 'netsim'}\r\nUser-Agent: ${opts.userAgent ?? 'curl/8.5.0'}\r\nAccept: */*\r\n${last ? 'Connection: close\r\n' : ''}\r\n`);
  };
  const finish = (): void => {
    if (session.done) return;
    session.done = true;
    opts.onDone?.(session);
  };
  conn.onConnect = request;
  conn.onData = (data) => {
    const nb = new Uint8Array(buf.length + data.length);
    nb.set(buf);
    nb.set(data, buf.length);
    buf = nb;
    for (;;) {
      const text = dec.decode(buf);
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = text.slice(0, end).split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
      const headers = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as const));
      const len = Number(headers.get('content-length') ?? 0);
      const headBytes = enc.encode(text.slice(0, end + 4)).length;
      if (buf.length < headBytes + len) return;
      const body = dec.decode(buf.subarray(headBytes, headBytes + len));
      buf = buf.slice(headBytes + len);
      session.results.push({ status, body, headers, sentAt, doneAt: clock.now() });
      if (session.results.length < total) request();
      else {
        conn.end();
        finish();
        return;
      }
    }
  };
  conn.onClose = (reason, detail) => {
    if (session.results.length < total) {
      session.error = reason === 'closed' ? 'reset' : reason;
      session.errorDetail = detail;
    }
    finish();
  };
  return session;
}
