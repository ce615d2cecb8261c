/**
 * The page's line to `netsim up`: JSON requests with the bearer token, WebSockets
 * with the token in the `base64url.bearer.authorization.k8s.io.` subprotocol (a
 * browser cannot set headers on a WebSocket), and failures as the server's Status
 * message — never a stack trace.
 *
 * The token comes in the URL's fragment (`#token=…`, which the browser never sends),
 * is kept in sessionStorage for reloads and removed from the address bar.
 */
const TOKEN_KEY = 'netsim.token';

export class ApiFailure extends Error {
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

export function takeToken(): string | undefined {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m !== null) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1] as string));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** What a failed response says: a Kubernetes Status' message, or the status line. */
async function failureOf(res: Response): Promise<ApiFailure> {
  const text = await res.text().catch(() => '');
  try {
    const s = JSON.parse(text) as { kind?: string; message?: string };
    if (s.kind === 'Status' && typeof s.message === 'string') return new ApiFailure(s.message, res.status);
  } catch {
    // not JSON: fall through to the status line
  }
  return new ApiFailure(`${res.status} ${res.statusText}`.trim(), res.status);
}

export class Api {
  constructor(private token: string | undefined, private readonly onUnauthorized: () => void) {}

  setToken(token: string): void {
    this.token = token;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { accept: 'application/json', ...(this.token !== undefined ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(path, { method, headers: this.headers(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch {
      throw new ApiFailure('the netsim server does not answer (is `netsim up` still running?)', 0);
    }
    if (res.status === 401) this.onUnauthorized();
    if (!res.ok) throw await failureOf(res);
    return res;
  }

  async get<T>(path: string): Promise<T> {
    return (await (await this.request('GET', path)).json()) as T;
  }

  async text(path: string): Promise<string> {
    return (await this.request('GET', path)).text();
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return (await (await this.request('POST', path, body)).json()) as T;
  }

  /** A WebSocket to `path` on this server, authenticated as the API server expects of browsers. */
  socket(path: string): WebSocket {
    const url = new URL(path, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const protocols = ['netsim'];
    if (this.token !== undefined) {
      const b64 = btoa(String.fromCharCode(...new TextEncoder().encode(this.token))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      protocols.push(`base64url.bearer.authorization.k8s.io.${b64}`);
    }
    return new WebSocket(url, protocols);
  }
}

/**
 * A WebSocket that comes back: reopened with a growing pause after it closes, until
 * `stop()`. Each message's text goes to `onMessage`.
 */
export function keepOpen(open: () => WebSocket, onMessage: (data: string) => void, onOpen: () => void = () => {}): { stop(): void } {
  let stopped = false;
  let ws: WebSocket | undefined;
  let pause = 500;
  const connect = (): void => {
    if (stopped) return;
    ws = open();
    ws.onopen = () => { pause = 500; onOpen(); };
    ws.onmessage = (ev: MessageEvent) => { if (typeof ev.data === 'string') onMessage(ev.data); };
    ws.onclose = () => {
      if (stopped) return;
      setTimeout(connect, pause);
      pause = Math.min(pause * 2, 10_000);
    };
  };
  connect();
  return { stop: () => { stopped = true; ws?.close(); } };
}
