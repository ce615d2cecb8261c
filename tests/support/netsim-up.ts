// One way for end-to-end tests to run `netsim up` as a user does (a child process that
// prints its listening and `export KUBECONFIG=…` lines) and to drive it with the real
// kubectl, instead of a copy of this in every test file.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/netsim.mjs');

export interface Up {
  readonly proc: ChildProcessWithoutNullStreams;
  /** The URL of the listening line. */
  readonly url: string;
  /** The kubeconfig file the server wrote. */
  readonly kubeconfig: string;
  /** Everything printed so far on stdout / stderr. */
  readonly out: () => string;
  readonly err: () => string;
  /** The exit code once the process is gone. */
  readonly exit: Promise<number | null>;
}

/** Start `netsim up ARGS…` (through `npx` with `viaNpx`) and wait until it serves. */
export function startUp(args: readonly string[], opts: { viaNpx?: boolean; timeoutMs?: number } = {}): Promise<Up> {
  const proc = opts.viaNpx === true
    ? spawn('npx', ['netsim', 'up', ...args], { cwd: ROOT, stdio: 'pipe' })
    : spawn(process.execPath, [BIN, 'up', ...args], { stdio: 'pipe' });
  let out = '';
  let err = '';
  const exit = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`netsim up printed no listening line: ${out} ${err}`)), opts.timeoutMs ?? 60_000);
    proc.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^API server listening on (\S+)\nexport KUBECONFIG=(\S+)$/m.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ proc, url: m[1] as string, kubeconfig: m[2] as string, out: () => out, err: () => err, exit });
      }
    });
    void exit.then((code) => { clearTimeout(timer); reject(new Error(`netsim up exited ${code}: ${err}`)); });
  });
}

/** SIGTERM the server and wait for its exit code. */
export async function stopUp(up: Up | undefined): Promise<number | null> {
  if (up === undefined) return null;
  up.proc.kill('SIGTERM');
  return up.exit;
}

export interface Run { code: number; stdout: string; stderr: string }

/**
 * Run a command (kubectl, dig, …) with only PATH, HOME=`dir` and KUBECONFIG in its
 * environment, so the user's own configuration never leaks into a test.
 */
export function runWith(cmd: string, args: readonly string[], dir: string, kubeconfig: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, [...args], { cwd: dir, timeout: timeoutMs, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfig } }, (e, stdout, stderr) => {
      resolve({ code: e ? (typeof (e as { code?: unknown }).code === 'number' ? (e as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

/** Poll `f` until it gives a value; fail naming `what` after `ms`. */
export async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
