// The kubeconfig netsim up writes is what kubectl reads (clientcmd's v1 Config), and
// reading one back is a parser of a user's file: any content is an entry or a
// NETSIM_ERR_KUBECONFIG error, never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import YAML from 'yaml';
import { readKubeconfig, writeKubeconfig } from './kubeconfig.ts';
import { CliError } from '../cli-error.ts';

test('kubeconfig: written 0600 in clientcmd v1 form, read back to the same entry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-kubeconfig-'));
  try {
    const file = join(dir, 'sub', 'kubeconfig');
    const entry = { server: 'https://127.0.0.1:6443', token: 'abc', caPem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' };
    writeKubeconfig(file, entry);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700);
    const doc = YAML.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(doc['current-context'], 'netsim');
    assert.deepEqual(doc['clusters'], [{ name: 'netsim', cluster: { server: entry.server, 'certificate-authority-data': Buffer.from(entry.caPem).toString('base64') } }]);
    assert.deepEqual(doc['users'], [{ name: 'netsim', user: { token: 'abc' } }]);
    assert.deepEqual(readKubeconfig(file), entry);
    writeKubeconfig(file, { server: 'http://127.0.0.1:1' });
    assert.deepEqual(readKubeconfig(file), { server: 'http://127.0.0.1:1' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('readKubeconfig (property): any file content is an entry or NETSIM_ERR_KUBECONFIG', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netsim-kubeconfig-'));
  try {
    const file = join(dir, 'k');
    // Mostly well-shaped kubeconfigs with wrong types in places, so the lookups are exercised too.
    const shaped = fc.record({
      'current-context': fc.constantFrom('netsim', 5, null, ''),
      contexts: fc.oneof(fc.anything(), fc.constant([{ name: 'netsim', context: { cluster: 'c', user: 'u' } }])),
      clusters: fc.array(fc.record({ name: fc.constantFrom('c', 3, null), cluster: fc.oneof(fc.anything(), fc.record({ server: fc.anything(), 'certificate-authority-data': fc.anything() })) })),
      users: fc.array(fc.record({ name: fc.constantFrom('u', false), user: fc.oneof(fc.anything(), fc.record({ token: fc.anything() })) })),
    }).map((d) => String(YAML.stringify(d)));
    const yamlish = fc.oneof(shaped, shaped, fc.string(), fc.json(), fc.anything().map((v) => { try { return String(YAML.stringify(v) ?? ''); } catch { return ''; } }));
    fc.assert(fc.property(yamlish, (text) => {
      writeFileSync(file, text);
      try {
        const e = readKubeconfig(file);
        assert.equal(typeof e.server, 'string');
      } catch (err) {
        assert.ok(err instanceof CliError && err.code === 'NETSIM_ERR_KUBECONFIG', String(err));
      }
    }), { numRuns: 300 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
