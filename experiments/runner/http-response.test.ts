// The runner's in-place reads of a response give what the regular expressions they replace give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { contentLength, podFrom } from './http-response.ts';

/** What the runner did before: the regular expressions on slices. */
const refLength = (s: string, end: number): number => {
  const m = /content-length:\s*(\d+)/i.exec(s.slice(0, end));
  return m === null ? 0 : Number(m[1]);
};
const refPod = (s: string, start: number, end: number): string | undefined => / from (\S+)\s*$/.exec(s.slice(start, end))?.[1];

/** Text made of the pieces that matter: the names in any case, spaces of every kind, digits, letters that fold oddly. */
const piece = fc.constantFrom(
  'content-length:', 'Content-Length:', 'CONTENT-LENGTH:', 'content-length', 'Content-Lenght:', 'x-content-length: ', 'ſ', 'ı', 'K',
  ' from ', ' from', 'from ', ' ', '  ', '\t', '\r\n', '\n', '\u00a0', '\u2003', '\u3000', '\ufeff', '\u0085', '\u180e',
  '0', '7', '45', '007', '99999999999999999999', 'a', 'nginx-7d9-abc', 'Hello World, Kubernetes!', 'é', '\u{1F600}', ':', '-',
);
const text = fc.array(piece, { maxLength: 14 }).map((a) => a.join(''));

test('property: contentLength is /content-length:\\s*(\\d+)/i on the head, 0 without a match', () => {
  fc.assert(fc.property(text, fc.nat(), (s, cut) => {
    const end = s.length === 0 ? 0 : cut % (s.length + 1);
    assert.equal(contentLength(s, end), refLength(s, end));
  }), { numRuns: 5000 });
});

test('property: podFrom is / from (\\S+)\\s*$/ on the body', () => {
  fc.assert(fc.property(text, fc.nat(), fc.nat(), (s, a, b) => {
    const start = s.length === 0 ? 0 : a % (s.length + 1);
    const end = start + (s.length - start === 0 ? 0 : b % (s.length - start + 1));
    assert.equal(podFrom(s, start, end), refPod(s, start, end));
  }), { numRuns: 5000 });
});

test('the seed nginx response: its length and pod', () => {
  const head = 'HTTP/1.1 200 OK\r\nServer: nginx/1.27.0\r\nContent-Type: text/plain\r\nContent-Length: 45\r\nConnection: close';
  const s = `${head}\r\n\r\nHello World, Kubernetes! from nginx-7d9-abc\n`;
  assert.equal(contentLength(s, head.length), 45);
  assert.equal(podFrom(s, head.length + 4, s.length), 'nginx-7d9-abc');
  assert.equal(podFrom(s, head.length + 4, s.length - 5), 'nginx-7d9');
  assert.equal(podFrom('Hello World', 0, 11), undefined);
  assert.equal(contentLength(s, head.indexOf('Content-Length') + 16), 0, 'digits beyond the head are not read');
});
