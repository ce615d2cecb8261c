import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareOutputDir } from './output-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'netsim-outdir-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a directory option: made with its parents up front; removed again (only what was made) when nothing was written into it', () => {
  const target = join(dir, 'a', 'b', 'pcaps');
  const discard = prepareOutputDir(target);
  assert.ok(existsSync(target));
  discard();
  assert.equal(existsSync(join(dir, 'a')), false, 'a/b/pcaps made by this call, all removed');
  assert.ok(existsSync(dir), 'what was there before stays');
  const kept = join(dir, 'kept');
  const discard2 = prepareOutputDir(kept);
  writeFileSync(join(kept, 'x.pcapng'), 'x');
  discard2();
  assert.ok(existsSync(join(kept, 'x.pcapng')), 'a directory with a file in it stays');
  const discard3 = prepareOutputDir(kept);
  discard3();
  assert.ok(existsSync(kept), 'an existing directory is never removed');
  assert.throws(() => prepareOutputDir(join(kept, 'x.pcapng')), /NETSIM_ERR_OUTPUT|exists and is not a directory/);
  assert.throws(() => prepareOutputDir(join(kept, 'x.pcapng', 'sub')), /not a directory \(ENOTDIR\)/);
  // mkdirSync's `recursive` loops forever under /proc (mkdir answers ENOENT for a parent that exists): refused at once here.
  if (existsSync('/proc/self')) assert.throws(() => prepareOutputDir('/proc/netsim-x/y'), /NETSIM_ERR_OUTPUT|cannot write \/proc\/netsim-x\/y/);
});
