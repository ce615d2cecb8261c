#!/usr/bin/env node
// Runs every *.test.ts under the source folders with Node's own test runner
// (node:test) and tsx as the TypeScript loader. Node 20's `--test` does not
// expand globs or pick up .ts files by itself, so the list is built here.
// Extra arguments are passed to node (e.g. --test-name-pattern=bridge), and
// bare paths narrow the run to those files or folders.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = ['netsim', 'control', 'proxy', 'cni', 'apps', 'policy', 'pcaps', 'cluster', 'observe', 'experiments', 'cli', 'web', 'tests', 'bench'];
const args = process.argv.slice(2);
const nodeFlags = args.filter((a) => a.startsWith('-'));
const narrow = args.filter((a) => !a.startsWith('-'));

function walk(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

let files = (narrow.length ? narrow : roots).flatMap((r) => {
  try { return statSync(r).isDirectory() ? walk(r, []) : [r]; } catch { return []; }
});
files = [...new Set(files)].sort();
if (files.length === 0) {
  console.error('run-tests: no *.test.ts files found under ' + (narrow.length ? narrow : roots).join(', '));
  process.exit(1);
}
console.log(`run-tests: ${files.length} test files`);
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...nodeFlags, ...files.map((f) => relative('.', f))], { stdio: 'inherit' });
process.exit(res.status ?? 1);
