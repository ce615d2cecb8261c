/**
 * How every command writes a file the user named (capture -w, demo --out,
 * experiment --html/--csv-windows, verify --pcap-dir). One rule for all:
 *
 * - The path is checked before the run (a missing or non-directory parent, a
 *   directory at the target, a read-only place), so a long run never ends in an
 *   error about where its result should go.
 * - A file's parent directory must exist; it is never created. A directory option
 *   (demo --out, verify --pcap-dir) names a directory that is created with its
 *   parents, like `mkdir -p`.
 * - A regular file is written to a temporary file in the same directory and renamed
 *   into place (rename(2) is atomic): a reader sees the old file or the whole new
 *   one, never a truncated one, and a failed write leaves the old file as it was.
 *   An existing file is replaced, as `tcpdump -w` and the shell's `>` do.
 * - A symlink at the target is replaced by the file, never followed (it cannot
 *   redirect the write elsewhere).
 * - A device or FIFO at the target (`/dev/null`, `/dev/full`, a named pipe) is
 *   written straight into.
 * - `-` (where a command offers it, capture -w) is standard output.
 *
 * Every failure is a `NETSIM_ERR_OUTPUT` error naming the path and the reason.
 */
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, rmdirSync, statSync, writeSync, accessSync, constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError } from './cli-error.ts';

const REASONS: Record<string, string> = {
  ENOENT: 'no such directory',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EEXIST: 'exists and is not a directory',
  EIO: 'input/output error',
};

function outputError(path: string, e: unknown): CliError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code !== undefined ? `${REASONS[code] ?? code.toLowerCase()} (${code})` : String(e);
  return new CliError('NETSIM_ERR_OUTPUT', `cannot write ${path}: ${why}`);
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw outputError(path, e);
  }
}

const isStream = (st: Stats): boolean => st.isCharacterDevice() || st.isFIFO() || st.isSocket() || st.isBlockDevice();

/** Refuse, before any work, a file path that cannot be written under the rules above. */
export function checkOutputFile(path: string): void {
  if (path === '') throw new CliError('NETSIM_ERR_OUTPUT', 'empty output path');
  const st = lstatOrUndefined(path);
  if (st?.isDirectory() === true) throw new CliError('NETSIM_ERR_OUTPUT', `cannot write ${path}: is a directory (EISDIR)`);
  if (st !== undefined && isStream(st)) return;
  const dir = dirname(path);
  let d: Stats;
  try {
    d = statSync(dir);
  } catch (e) {
    throw outputError(path, e);
  }
  if (!d.isDirectory()) throw new CliError('NETSIM_ERR_OUTPUT', `cannot write ${path}: ${dir} is not a directory (ENOTDIR)`);
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw outputError(path, e);
  }
}

/**
 * Create a directory option's directory (and its parents); refuse one that is a
 * file. Returns a function that removes again, if they are still empty, the
 * directories this call created — for an option that may end up writing nothing
 * (verify --pcap-dir writes only on a disagreement), so checking it up front
 * leaves no litter.
 */
export function prepareOutputDir(dir: string): () => void {
  if (dir === '') throw new CliError('NETSIM_ERR_OUTPUT', 'empty output path');
  let first: string | undefined;
  try {
    first = mkdirParents(resolve(dir));
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'EEXIST' });
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw outputError(dir, e);
  }
  const made = first;
  return () => {
    if (made === undefined) return;
    // mkdir -p created `made` and everything below it on the way to `dir`: remove from the bottom up while empty.
    for (let d = resolve(dir); ; d = dirname(d)) {
      try {
        rmdirSync(d);
      } catch {
        return;
      }
      if (d === resolve(made)) return;
    }
  };
}

/**
 * `mkdir -p` one level at a time from the nearest existing ancestor; returns the
 * first directory it made (undefined: none); new directories get `mode`. Not mkdirSync's `recursive`, which
 * loops forever where mkdir answers ENOENT for a parent that exists (/proc).
 */
export function mkdirParents(dir: string, mode?: number): string | undefined {
  const missing: string[] = [];
  for (let d = dir; dirname(d) !== d; d = dirname(d)) {
    try {
      lstatSync(d);
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      missing.unshift(d);
    }
  }
  for (const d of missing) mkdirSync(d, mode);
  return missing[0];
}

function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off);
}

/** Write `data` to `path` under the rules above (temporary file + rename; devices straight). */
export function writeOutputFile(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const st = lstatOrUndefined(path);
  if (st !== undefined && isStream(st)) {
    let fd: number | undefined;
    try {
      fd = openSync(path, 'w');
      writeAll(fd, bytes);
    } catch (e) {
      throw outputError(path, e);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return;
  }
  checkOutputFile(path);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    // 'wx': never through something already at the temporary name.
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeAll(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw outputError(path, e);
  }
}
