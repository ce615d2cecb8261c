/**
 * Bearer-token authentication of the API server, as kube-apiserver's token authenticator
 * (`--token-auth-file`) does it for one static token: `Authorization: Bearer <token>`,
 * or — for browsers, which cannot set headers on a WebSocket — the token carried in the
 * `base64url.bearer.authorization.k8s.io.<token>` subprotocol (apiserver's
 * `websocket.ProtocolHeader` authenticator). Health endpoints stay open, as
 * `system:public-info-viewer` lets anyone read them, and so do the web UI's static files.
 *
 * Not modelled: users, groups, RBAC (an authenticated request may do anything), client
 * certificates, token expiry.
 */
import { timingSafeEqual } from 'node:crypto';
import { statusOf } from './errors.ts';
import type { Status } from '../api/index.ts';

/** Paths anyone may read (kube-apiserver's system:public-info-viewer covers these). */
const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/healthz', '/livez', '/readyz']);

/**
 * The web UI's page and assets (`/` and `/ui/…`): code and styles only, no cluster
 * data, so a browser can load them before it has the token. Everything the page then
 * asks for is an API or `/netsim/` request and needs the token like any other.
 */
export const UI_PREFIX = '/ui/';

/** Whether `path` (without its query) may be read without a token. */
export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.has(path) || path === '/' || path.startsWith(UI_PREFIX);
}

const WS_TOKEN_PREFIX = 'base64url.bearer.authorization.k8s.io.';

/** Constant-time comparison, so response timing does not reveal how much of a guess was right. */
function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Whether a request carries `token`. `authorization` is the header; `protocols` the
 * Sec-WebSocket-Protocol header of an upgrade (undefined for plain requests).
 */
export function carriesToken(token: string, authorization: string | undefined, protocols?: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (m !== null && same(m[1] as string, token)) return true;
  for (const p of (protocols ?? '').split(',').map((s) => s.trim())) {
    if (p.startsWith(WS_TOKEN_PREFIX) && same(Buffer.from(p.slice(WS_TOKEN_PREFIX.length), 'base64url').toString('utf8'), token)) return true;
  }
  return false;
}

/** The 401 body kube-apiserver sends for a missing or wrong token. */
export function unauthorizedStatus(): Status {
  return statusOf('Unauthorized', 'Unauthorized');
}
