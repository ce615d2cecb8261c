/**
 * The kubeconfig `netsim up` writes (kubectl's `Config`, client-go's clientcmd v1 format):
 * one cluster, user and context named `netsim`, the bearer token, and the CA as
 * certificate-authority-data when it serves TLS. Written 0600 through a temporary file
 * and a rename, so no reader ever sees it half-written or readable by others.
 *
 * Not modelled: merging into an existing kubeconfig (the file is netsim's own; point
 * KUBECONFIG at it, or copy the entries), exec/auth-provider users.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import YAML from 'yaml';
import { CliError } from '../cli-error.ts';
import { mkdirParents } from '../output-file.ts';

export interface KubeconfigEntry {
  /** `https://127.0.0.1:6443` */
  readonly server: string;
  /** Absent for an anonymous server. */
  readonly token?: string;
  /** PEM the client trusts for the server's certificate. */
  readonly caPem?: string;
}

const NAME = 'netsim';

function renderKubeconfig(e: KubeconfigEntry): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: NAME, cluster: { server: e.server, ...(e.caPem !== undefined ? { 'certificate-authority-data': Buffer.from(e.caPem).toString('base64') } : {}) } }],
    users: [{ name: NAME, user: e.token !== undefined ? { token: e.token } : {} }],
    contexts: [{ name: NAME, context: { cluster: NAME, user: NAME } }],
    'current-context': NAME,
    preferences: {},
  });
}

/** Write `text` to `file` with mode 0600, atomically (temp file + rename). */
export function writePrivateFile(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirParents(dirname(file), 0o700);
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (e) {
    throw new CliError('NETSIM_ERR_KUBECONFIG', `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function writeKubeconfig(file: string, e: KubeconfigEntry): void {
  writePrivateFile(file, renderKubeconfig(e));
}

interface Named<T> { name?: string; cluster?: T; user?: T; context?: T }

/** The current context's server, token and CA of a kubeconfig file (what `netsim apply --kubeconfig` needs). */
export function readKubeconfig(file: string): KubeconfigEntry {
  let doc: Record<string, unknown>;
  try {
    doc = (YAML.parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  } catch (e) {
    throw new CliError('NETSIM_ERR_KUBECONFIG', `${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const find = <T>(list: unknown, name: unknown): Named<T> | undefined => (Array.isArray(list) ? (list as Named<T>[]).find((x) => x?.name === name) : undefined);
  const ctx = find<{ cluster?: string; user?: string }>(doc['contexts'], doc['current-context'])?.context;
  const cluster = find<{ server?: unknown; 'certificate-authority-data'?: unknown }>(doc['clusters'], ctx?.cluster)?.cluster;
  const user = find<{ token?: unknown }>(doc['users'], ctx?.user)?.user;
  if (typeof cluster?.server !== 'string') throw new CliError('NETSIM_ERR_KUBECONFIG', `${file}: the current context names no cluster with a server`);
  const ca = cluster['certificate-authority-data'];
  return {
    server: cluster.server,
    ...(typeof user?.token === 'string' ? { token: user.token } : {}),
    ...(typeof ca === 'string' ? { caPem: Buffer.from(ca, 'base64').toString('utf8') } : {}),
  };
}
