// The bearer-token check reads untrusted headers: any Authorization or
// Sec-WebSocket-Protocol value is answered true or false, never an exception, and true
// only for the token itself (header or kube's WebSocket subprotocol form).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { carriesToken } from './auth.ts';

const TOKEN = 'yeRM9LWgAvaJVkdQuLFSexiPb16x2Bs8r5y9CvsAbH4';
const wsForm = (t: string): string => `base64url.bearer.authorization.k8s.io.${Buffer.from(t).toString('base64url')}`;

test('carriesToken: the token in the header or as the WebSocket subprotocol, nothing else', () => {
  assert.equal(carriesToken(TOKEN, `Bearer ${TOKEN}`), true);
  assert.equal(carriesToken(TOKEN, `bearer ${TOKEN}`), true, 'the scheme is case-insensitive (RFC 7235)');
  assert.equal(carriesToken(TOKEN, undefined, `v5.channel.k8s.io, ${wsForm(TOKEN)}`), true);
  for (const bad of [undefined, '', 'Bearer', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, `Bearer  ${TOKEN} extra`, TOKEN]) {
    assert.equal(carriesToken(TOKEN, bad), false, String(bad));
  }
  assert.equal(carriesToken(TOKEN, undefined, wsForm(`${TOKEN}x`)), false);
});

test('carriesToken (property): arbitrary headers never throw and never pass unless they carry the token', () => {
  fc.assert(fc.property(fc.string(), fc.option(fc.string(), { nil: undefined }), fc.option(fc.string(), { nil: undefined }), (token, header, protocols) => {
    fc.pre(token !== '');
    const ok = carriesToken(token, header, protocols);
    if (ok) {
      const inHeader = (header ?? '').trim().split(/\s+/).at(-1) === token;
      const inProtocol = (protocols ?? '').split(',').some((p) => p.trim() === wsForm(token) || Buffer.from(p.trim().replace(/^base64url\.bearer\.authorization\.k8s\.io\./, ''), 'base64url').toString('utf8') === token);
      assert.ok(inHeader || inProtocol, `accepted ${JSON.stringify({ header, protocols })} for ${JSON.stringify(token)}`);
    }
  }), { numRuns: 2000 });
});
