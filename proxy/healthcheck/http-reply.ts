/**
 * What kube-proxy's health handlers answer (a Go net/http response, reduced): the
 * status, the headers the handler sets, and the body. Times are written as Go's
 * encoding/json writes a time.Time (RFC 3339 with nanoseconds, trailing zeros cut).
 */
export interface HttpReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** An HTTP handler: a reply for a method and path. */
export type HttpRoute = (method: string, path: string) => HttpReply;

/**
 * time.Time.MarshalJSON of a UTC instant given in nanoseconds since the Unix epoch
 * (RFC3339Nano: the fraction loses its trailing zeros, and goes when zero).
 */
export function goTimeJSON(unixNs: bigint): string {
  const ms = Number(unixNs / 1_000_000n);
  const frac = (unixNs % 1_000_000_000n + 1_000_000_000n) % 1_000_000_000n;
  const base = new Date(ms - Number(frac / 1_000_000n)).toISOString().slice(0, 19);
  const f = frac === 0n ? '' : `.${frac.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${f}Z`;
}

/** Go's zero time.Time as JSON (a proxier that never synced). */
export const GO_ZERO_TIME_JSON = '0001-01-01T00:00:00Z';
