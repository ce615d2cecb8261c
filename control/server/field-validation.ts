/**
 * `fieldValidation` (KEP-2885): which fields of a request body the served kinds know, and
 * where a JSON body repeats a key.
 *
 * - `Strict`: unknown or duplicate fields fail the request with 400 BadRequest,
 *   `strict decoding error: unknown field "spec.foo", duplicate field "spec.replicas"`;
 * - `Warn` (the server's default when the parameter is absent): the write succeeds, unknown
 *   fields are dropped (as Go's decoder drops them) and each finding is a `Warning: 299` header;
 * - `Ignore`: dropped silently.
 * Server-side apply always rejects unknown fields (`.spec.foo: field not declared in schema`).
 *
 * Each kind's module (control/resources) lists its fields down to the levels the emulator
 * interprets (metadata, pod/container specs, service, workload specs, slices). Below that,
 * sub-objects the emulator stores but does not interpret (probes, securityContext,
 * affinity, volumes, resources, every `status`) are open: any content is accepted. That keeps
 * a real manifest from being rejected for a field the emulator never reads.
 */

import type { FieldSchema } from '../resources/index.ts';

/**
 * Paths of fields `schema` does not know, in the decoder's notation
 * (`spec.template.spec.containers[0].imagePullPolice`); with `prune`, they are deleted from `v`.
 */
export function unknownFields(v: unknown, schema: FieldSchema | undefined, prune: boolean, path = ''): string[] {
  if (schema === undefined || schema === true || v === null || typeof v !== 'object') return [];
  const out: string[] = [];
  if (Array.isArray(schema)) {
    if (!Array.isArray(v)) return [];
    v.forEach((e, i) => out.push(...unknownFields(e, schema[0], prune, `${path}[${i}]`)));
    return out;
  }
  if (Array.isArray(v)) return [];
  const s = schema as { readonly [f: string]: FieldSchema };
  const obj = v as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    const sub = Object.prototype.hasOwnProperty.call(s, k) ? s[k] : s['*'];
    const p = path === '' ? k : `${path}.${k}`;
    if (sub === undefined) {
      out.push(p);
      if (prune) delete obj[k];
    } else out.push(...unknownFields(obj[k], sub, prune, p));
  }
  return out;
}

/**
 * Keys that occur twice in one object of a JSON text (which must be valid JSON), as paths
 * in the decoder's notation. JSON.parse keeps the last value silently; Go's strict decoder
 * reports each repeat.
 */
export function duplicateJsonKeys(text: string): string[] {
  type Frame = { kind: 'o'; keys: Set<string>; key: string | undefined; path: string } | { kind: 'a'; index: number; path: string };
  const out: string[] = [];
  const stack: Frame[] = [];
  const childPath = (): string => {
    const f = stack[stack.length - 1];
    if (!f) return '';
    if (f.kind === 'a') return `${f.path}[${f.index}]`;
    return f.path === '' ? f.key ?? '' : `${f.path}.${f.key ?? ''}`;
  };
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top?.kind === 'o') {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) out.push(top.path === '' ? key : `${top.path}.${key}`);
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      stack.push({ kind: 'o', keys: new Set(), key: undefined, path: childPath() });
      expectKey = true;
    } else if (c === '[') {
      stack.push({ kind: 'a', index: 0, path: childPath() });
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.kind === 'a') top.index++;
      else expectKey = true;
    }
  }
  return out;
}

/**
 * A `Warning` header value (RFC 7234 warn-code 299, the only code kube-apiserver sends).
 * Header values are bytes: the text goes out as its UTF-8 bytes, as Go's net/http writes
 * it (Node takes a header string as Latin-1, one byte per char), with control characters
 * replaced by spaces, so a field name in any script can never make the response invalid.
 */
export function warningHeader(message: string): string {
  // eslint-disable-next-line no-control-regex
  const text = message.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  return Buffer.from(`299 - "${text}"`, 'utf8').toString('latin1');
}
