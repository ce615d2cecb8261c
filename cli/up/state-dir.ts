/**
 * `netsim up`'s state directory (`--state`, default ./.netsim): the store, the kubeconfig
 * and the token. Its content grants full control of the cluster, so the directory is 0700
 * and its files 0600 — also when an older netsim left them world-readable (the modes are
 * tightened at every start, as kubeadm does for /etc/kubernetes/pki).
 */
import { chmodSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../cli-error.ts';
import { mkdirParents } from '../output-file.ts';

const why = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Tighten `dir` (0700) and everything under it (directories 0700, files 0600); symlinks are left alone. */
function tighten(dir: string): void {
  chmodSync(dir, 0o700);
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) tighten(p);
    else if (st.isFile() && (st.mode & 0o077) !== 0) chmodSync(p, st.mode & 0o700);
  }
}

/** Create (or take over) the state directory with private modes; a clear error when it cannot be. */
export function prepareStateDir(dir: string): void {
  let st;
  try { st = lstatSync(dir); } catch { st = undefined; }
  if (st !== undefined && !st.isDirectory()) throw new CliError('NETSIM_ERR_STATE', `--state ${dir} is not a directory; give a directory (it is created if missing)`);
  try {
    mkdirParents(dir, 0o700);
    tighten(dir);
  } catch (e) {
    const code = why(e);
    throw new CliError('NETSIM_ERR_STATE', code === 'ENOTDIR' ? `--state ${dir}: a parent of it is a file` : `--state ${dir}: cannot create or secure it: ${code}`);
  }
}
