/**
 * What the runner reads of an HTTP response, found in place in the text it has
 * received so far: the Content-Length and the pod name nginx's page ends with. Each
 * function gives exactly what the regular expression it names gives on the slice it
 * names (a property test holds them to it), without the slice, the match array or the
 * regular expression: the runner reads two of them per connection, a million times.
 */

/** `\s` of a JavaScript regular expression (WhiteSpace and LineTerminator). */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

const NAME = 'content-length:';

/**
 * `Number(m[1])` of `/content-length:\s*(\d+)/i.exec(s.slice(0, end))`, or 0 when it does
 * not match. (Without the `u` flag, `i` folds only ASCII letters here: no other character
 * upper-cases to one of the name's.)
 */
export function contentLength(s: string, end: number): number {
  // Candidates in order are where a ':' ends the name (a native search, a few per head).
  outer: for (let colon = s.indexOf(':', NAME.length - 1); colon >= 0 && colon < end; colon = s.indexOf(':', colon + 1)) {
    const p = colon - (NAME.length - 1);
    for (let i = 0; i < NAME.length - 1; i++) {
      const c = s.charCodeAt(p + i);
      const want = NAME.charCodeAt(i);
      if (c !== want && !(want >= 0x61 && want <= 0x7a && c === want - 0x20)) continue outer;
    }
    let q = p + NAME.length;
    while (q < end && isSpace(s.charCodeAt(q))) q++;
    const d = q;
    while (q < end && s.charCodeAt(q) >= 0x30 && s.charCodeAt(q) <= 0x39) q++;
    if (q > d) return Number(s.slice(d, q));
  }
  return 0;
}

const FROM = ' from ';

/** `m[1]` of `/ from (\S+)\s*$/.exec(s.slice(start, end))`, or undefined when it does not match. */
export function podFrom(s: string, start: number, end: number): string | undefined {
  // The capture is the last run of non-space characters (only spaces may follow it), and
  // the leftmost match is the one whose " from " ends right before that run.
  let e = end;
  while (e > start && isSpace(s.charCodeAt(e - 1))) e--;
  let b = e;
  while (b > start && !isSpace(s.charCodeAt(b - 1))) b--;
  if (b === e || b - start < FROM.length || !s.startsWith(FROM, b - FROM.length)) return undefined;
  return s.slice(b, e);
}
