/**
 * The real kubectl against a bare emulated API server (no cluster behind it) for an
 * e2e test file: registers the file's before/after hooks (a scratch HOME and
 * kubeconfig, the app on a free loopback port) and gives `kubectl(...)` and `ok(...)`
 * (kubectl that must exit 0). Tests skip with the printed reason where kubectl is missing.
 */
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { MemoryStore } from '../../control/store/memory-store.ts';
import { buildApp } from '../../control/server/app.ts';

export const KUBECTL = '/usr/bin/kubectl';

export interface KubectlResult { readonly code: number; readonly stdout: string; readonly stderr: string }

export interface KubectlHarness {
  /** Why the file's tests skip, or false. */
  readonly skipWhy: string | false;
  kubectl(...args: string[]): Promise<KubectlResult>;
  ok(...args: string[]): Promise<string>;
  /** The scratch directory (HOME, kubeconfig, files a test writes). */
  dir(): string;
  app(): FastifyInstance;
}

export function kubectlAgainstApp(label: string): KubectlHarness {
  const skipWhy = existsSync(KUBECTL) ? false : `kubectl not found at ${KUBECTL} (.ci/run installs it from .ci/apt-packages.txt)`;
  if (skipWhy) console.log(`# ${label}.test: skipped, ${skipWhy}`);
  let app: FastifyInstance | undefined;
  let dir = '';
  let server = '';
  before(async () => {
    if (skipWhy) return;
    dir = mkdtempSync(join(tmpdir(), `${label}-`));
    writeFileSync(join(dir, 'kubeconfig'), '');
    app = buildApp({ store: new MemoryStore() });
    await app.listen({ host: '127.0.0.1', port: 0 });
    server = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    if (skipWhy) return;
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const kubectl = (...args: string[]): Promise<KubectlResult> => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), KUBECACHEDIR: join(dir, 'cache') };
    return new Promise((resolve) => {
      execFile(KUBECTL, ['--server', server, '--cache-dir', join(dir, 'cache'), ...args], { env, timeout: 30_000, cwd: dir }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
      });
    });
  };
  return {
    skipWhy,
    kubectl,
    async ok(...args: string[]): Promise<string> {
      const r = await kubectl(...args);
      assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    },
    dir: () => dir,
    app: () => app as FastifyInstance,
  };
}
