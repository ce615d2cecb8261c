/**
 * `netsim observe --kubeconfig FILE | --server URL`: the flows of a running `netsim up`, as
 * `hubble observe` prints them — filtered on the server, one compact line per flow
 * (or JSON lines, or a table), following the stream with --follow until Ctrl-C.
 * Filters are checked here first with the server's own parser, so a typo is exit 2
 * before anything is sent.
 */
import { CliError } from '../cli-error.ts';
import { FLOWS_PATH, parseFlowQuery, renderFlow, renderTable, FlowQueryError } from '../../observe/index.ts';
import type { Flow, FlowFormat } from '../../observe/index.ts';
import { remoteStream, requireRemote } from '../remote.ts';
import type { RemoteArgs, RemoteStream } from '../remote.ts';

export interface ObserveOptions extends RemoteArgs {
  readonly follow?: boolean;
  readonly last?: number;
  readonly since?: string;
  readonly fromPod?: string;
  readonly toPod?: string;
  readonly pod?: string;
  readonly toService?: string;
  readonly node?: string;
  readonly verdict?: string;
  readonly protocol?: string;
  readonly port?: string;
  readonly label?: readonly string[];
  readonly hops?: boolean;
  readonly output: FlowFormat;
  /** Colour verdicts (a terminal without NO_COLOR). */
  readonly colour: boolean;
  /** Stop following (tests; SIGINT does it for a user). */
  readonly signal?: AbortSignal;
}

/** The query the options stand for, validated with the server's parser. */
export function observeQuery(o: ObserveOptions): URLSearchParams {
  const q = new URLSearchParams();
  const add = (k: string, v: string | number | boolean | undefined): void => {
    if (v !== undefined && v !== false) q.append(k, String(v));
  };
  add('from-pod', o.fromPod); add('to-pod', o.toPod); add('pod', o.pod); add('to-service', o.toService);
  add('node', o.node); add('verdict', o.verdict); add('protocol', o.protocol); add('port', o.port);
  for (const l of o.label ?? []) add('label', l);
  add('since', o.since); add('last', o.last); add('follow', o.follow); add('hops', o.hops);
  try {
    parseFlowQuery([...q], Date.now());
  } catch (e) {
    if (e instanceof FlowQueryError) throw new CliError('NETSIM_ERR_FILTER', `--${e.message}`);
    throw e;
  }
  if (o.output === 'table' && o.follow === true) throw new CliError('NETSIM_ERR_FILTER', '-o table needs the whole answer; use -o compact or -o json with --follow');
  return q;
}

export async function observeCommand(o: ObserveOptions, print: (s: string) => void): Promise<number> {
  const q = observeQuery(o);
  const remote = requireRemote(o, 'observe');
  try {
    if (!/^https?:$/.test(new URL(remote.server).protocol)) throw new Error('not http(s)');
  } catch {
    throw new CliError('NETSIM_ERR_SERVER', `--server must be a URL like https://127.0.0.1:6443, got "${remote.server}"`);
  }
  let res: RemoteStream;
  try {
    res = await remoteStream(remote, `${FLOWS_PATH}?${q.toString()}`, { accept: 'application/x-ndjson' }, o.signal);
  } catch (e) {
    if (o.signal?.aborted === true) return 0;
    throw e;
  }
  if (res.status !== 200) {
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let message = body;
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? body;
    } catch { /* not a Status: print the text as it came */ }
    throw new CliError(res.status === 400 ? 'NETSIM_ERR_FILTER' : 'NETSIM_ERR_SERVER', `${remote.server} answered ${res.status}: ${message}`);
  }
  const table: Flow[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  const line = (l: string): void => {
    if (l === '') return;
    const rec = JSON.parse(l) as Flow | { lost: number };
    if ('lost' in rec) {
      process.stderr.write(`netsim observe: ${rec.lost} flows lost (the reader fell behind)\n`);
      return;
    }
    if (o.output === 'table') table.push(rec);
    else print(renderFlow(rec, o.output, o.colour) + '\n');
  };
  try {
    for await (const chunk of res.body) {
      buf += decoder.decode(chunk as Uint8Array, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        line(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    }
    line(buf);
  } catch (e) {
    if (o.signal?.aborted !== true) throw new CliError('NETSIM_ERR_SERVER', `the flow stream from ${remote.server} broke: ${(e as Error).message}`);
  }
  if (o.output === 'table') print(renderTable(table));
  return 0;
}
