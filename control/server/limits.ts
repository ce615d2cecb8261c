/**
 * The API server's size and shape limits, with upstream's values where the emulator can
 * keep them:
 * - request body: 3 MiB (kube-apiserver's MaxRequestBodyBytes), in app.ts's bodyLimit;
 * - stored object: 1.5 MiB (etcd's default --max-request-bytes);
 * - annotations: 256 KiB in total (ValidateAnnotationsSize), in control/api validation;
 * - int32 fields: Go's decoder refuses out-of-range numbers (type-check.ts);
 * - nesting depth: Go's decoder stops at 10 000 levels, but V8's JSON.stringify runs out
 *   of stack near 5 000, so bodies and stored objects stop at 1 000 (real manifests nest
 *   about 20 deep). Patches merge a body into a stored object, so nothing the server
 *   handles goes past twice that.
 */

/** Deepest nesting of arrays and objects in a request body or a stored object. */
export const MAX_DEPTH = 1000;

/** The largest object the store takes: etcd's default --max-request-bytes (1.5 MiB). */
export const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

/**
 * How deep the brackets of a JSON text (or a YAML text's flow collections) nest, quoted
 * strings skipped; the text need not be valid. Checked before parsing: the YAML parser
 * runs out of memory on some 20 000-deep flow sequences.
 */
export function bracketDepth(text: string, yaml = false): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) { // '"': skip the string (backslash escapes)
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (yaml && c === 0x27) { // "'": YAML single-quoted ('' escapes itself)
      for (i++; i < text.length && text.charCodeAt(i) !== 0x27; i++);
    } else if (c === 0x7b || c === 0x5b) { // '{' '['
      if (++depth > max) max = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** How deep a value nests, iteratively (a deep value must not overflow the stack); stops counting past `limit`. */
export function valueDepth(v: unknown, limit = MAX_DEPTH): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    if (max > limit) return max;
    for (const y of Object.values(x as object)) stack.push([y, d + 1]);
  }
  return max;
}
