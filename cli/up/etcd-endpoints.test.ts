// --etcd-endpoints is a parser of the user's argument: http:// and https:// URLs (one
// or a comma-separated list, as kube-apiserver's --etcd-servers) pass; anything else is
// commander's InvalidArgumentError (NETSIM_ERR_ARGUMENT, exit 2) naming the bad entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidArgumentError } from 'commander';
import { etcdEndpointsArg } from './etcd-endpoints.ts';

/** [value, what the parser returns]. */
const accepted: Array<[string, string]> = [
  ['http://127.0.0.1:2379', 'http://127.0.0.1:2379'],
  ['https://etcd.example:2379', 'https://etcd.example:2379'],
  ['http://127.0.0.1:2379/', 'http://127.0.0.1:2379/'],
  ['http://[::1]:2379', 'http://[::1]:2379'],
  ['http://etcd', 'http://etcd'],
  ['https://etcd-0:2379,https://etcd-1:2379', 'https://etcd-0:2379,https://etcd-1:2379'],
  ['http://a:2379, http://b:2379 ', 'http://a:2379,http://b:2379'],
];

/** [value, the message must match]. */
const refused: Array<[string, RegExp]> = [
  ['notaurl', /"notaurl" is not a URL$/],
  ['', /an empty entry$/],
  ['127.0.0.1:2379', /"127\.0\.0\.1:2379" is not a URL$/],
  ['localhost:2379', /"localhost:2379" is not http:\/\/ or https:\/\/$/],
  ['ftp://etcd:2379', /"ftp:\/\/etcd:2379" is not http:\/\/ or https:\/\/$/],
  ['unix:///run/etcd.sock', /is not http:\/\/ or https:\/\//],
  ['http://', /"http:\/\/" is not a URL/],
  ['http://etcd:99999', /"http:\/\/etcd:99999" is not a URL/],
  ['http://user:pw@etcd:2379', /carries credentials/],
  ['http://etcd:2379/v3', /has more than scheme, host and port/],
  ['http://etcd:2379?x=1', /has more than scheme, host and port/],
  ['http://etcd:2379#f', /has more than scheme, host and port/],
  ['http://a:2379,', /an empty entry in "http:\/\/a:2379,"$/],
  ['http://a:2379,,http://b:2379', /an empty entry in/],
  ['http://a:2379,garbage', /"garbage" is not a URL in "http:\/\/a:2379,garbage"$/],
  ['http://a:2379;http://b:2379', /has more than scheme, host and port|is not a URL/],
];

test('--etcd-endpoints: http and https URLs and lists of them pass, entries trimmed', () => {
  for (const [v, want] of accepted) assert.equal(etcdEndpointsArg(v), want, v);
});

test('--etcd-endpoints: garbage is an InvalidArgumentError naming the flag and the bad entry', () => {
  for (const [v, message] of refused) {
    assert.throws(() => etcdEndpointsArg(v), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError, `${v}: ${String(e)}`);
      assert.match(e.message, /^--etcd-endpoints must be http:\/\/ or https:\/\/ URLs separated by commas/, v);
      assert.match(e.message, message, v);
      return true;
    }, v);
  }
});

test('--etcd-endpoints: any string passes as http(s) URLs the store can fetch from, or is refused as an argument — never anything else', () => {
  fc.assert(fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.array(fc.webUrl(), { minLength: 1, maxLength: 3 }).map((us) => us.join(','))), (v) => {
    let out: string;
    try {
      out = etcdEndpointsArg(v);
    } catch (e) {
      assert.ok(e instanceof InvalidArgumentError, String(e));
      return;
    }
    for (const entry of out.split(',')) {
      const u = new URL(entry);
      assert.ok(u.protocol === 'http:' || u.protocol === 'https:', entry);
      assert.ok(u.hostname !== '' && u.username === '' && u.search === '' && u.hash === '', entry);
      assert.doesNotThrow(() => new Request(`${entry.replace(/\/+$/, '')}/v3/kv/range`), entry);
    }
  }), { numRuns: 500 });
  // Generated plain URLs (no path, query or credentials) all pass.
  fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('http', 'https'), fc.domain(), fc.integer({ min: 1, max: 65535 })), { minLength: 1, maxLength: 4 }), (parts) => {
    const v = parts.map(([s, h, p]) => `${s}://${h}:${p}`).join(',');
    assert.equal(etcdEndpointsArg(v).split(',').length, parts.length);
  }), { numRuns: 200 });
});
