/**
 * The web UI on `netsim up`'s listener: `GET /` is web/public/index.html, `/ui/…`
 * its stylesheet (both sent from disk by @fastify/static) and `/ui/app.js` the
 * front end (web/app/main.ts) bundled by esbuild when the server starts, into memory.
 *
 * Why bundle at start rather than ship a built file: nothing built is committed or
 * can go stale, a fresh clone works with `npm ci && npx netsim up` (esbuild is already
 * there: tsx depends on it), and the bundle (cytoscape included, a few hundred kB)
 * takes well under a second to build. Every asset comes from this package: the
 * page loads nothing from the network but this server.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { setUiHandler } from '../../control/server/app.ts';

// The front end lives beside cli/ and is not imported by it: esbuild and @fastify/static read its files.
const PUBLIC_DIR = fileURLToPath(new URL('../../web/public/', import.meta.url));
const ENTRY = fileURLToPath(new URL('../../web/app/main.ts', import.meta.url));

/** The front end as one ES module (minified, with its source map inline unless `minify`). */
export async function bundleWebUi(minify = true): Promise<string> {
  const out = await build({
    entryPoints: [ENTRY], bundle: true, write: false, format: 'esm', platform: 'browser', target: 'es2022',
    minify, sourcemap: minify ? false : 'inline', legalComments: 'none', logLevel: 'silent',
  });
  const js = out.outputFiles[0];
  if (js === undefined) throw new Error('esbuild produced no output for the web UI');
  return js.text;
}

/** Files of web/public/ the server sends, by URL path (nothing else under /ui/ is served). */
const STATIC: Readonly<Record<string, string>> = { '/': 'index.html', '/ui/style.css': 'style.css', '/ui/favicon.svg': 'favicon.svg' };

/** Serve the UI on `app` (built by control/server's buildApp). */
export async function serveWebUi(app: FastifyInstance): Promise<void> {
  const js = await bundleWebUi();
  setUiHandler(app, (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (path === '/ui/app.js') return reply.code(200).header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(js);
    const file = STATIC[path];
    if (file === undefined) return reply.code(404).header('content-type', 'text/plain').send('not found\n');
    return reply.header('cache-control', 'no-cache').sendFile(file, PUBLIC_DIR);
  });
}
