/**
 * The body kube-apiserver and client-go exchange as `application/vnd.kubernetes.protobuf`
 * (k8s.io/apimachinery/pkg/runtime/serializer/protobuf): the 4-byte magic `k8s\0`,
 * then a runtime.Unknown whose typeMeta names the kind and whose raw holds the
 * object's own message (which carries no apiVersion/kind of its own).
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { MessageDef } from './schema.ts';
import { messageDef, messageForKind } from './schema.ts';
import { ProtobufDecodeError, decodeMessage, encodeMessage } from './codec.ts';

/** `k8s\0`: protobuf.protoEncodingPrefix. */
const MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

function unknownDef(): MessageDef {
  const d = messageDef('runtime.Unknown');
  if (!d) throw new Error('runtime.Unknown missing from the tables');
  return d;
}

function hasMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b);
}

/** Wrap an already encoded message in the envelope. */
function wrapEnvelope(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  const w = new BinaryWriter().raw(MAGIC);
  w.tag(1, WireType.LengthDelimited).fork().tag(1, WireType.LengthDelimited).string(apiVersion).tag(2, WireType.LengthDelimited).string(kind).join();
  w.tag(2, WireType.LengthDelimited).bytes(raw);
  // Go writes contentEncoding and contentType even when empty (non-pointer strings).
  w.tag(3, WireType.LengthDelimited).string('').tag(4, WireType.LengthDelimited).string('');
  return w.finish();
}

/**
 * The envelope of a JSON object, or undefined when its kind has no message here
 * (the caller then answers in JSON, as kube-apiserver does for types without
 * protobuf support).
 */
export function encodeObject(obj: unknown): Uint8Array | undefined {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const { apiVersion, kind } = obj as { apiVersion?: unknown; kind?: unknown };
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  const def = messageForKind(apiVersion, kind);
  if (!def) return undefined;
  return wrapEnvelope(apiVersion, kind, encodeMessage(def, obj as Record<string, unknown>));
}

/**
 * A request body back to the JSON object Go's decoder would produce. Throws
 * ProtobufDecodeError for anything that is not a well-formed envelope of a
 * registered kind.
 */
export function decodeObject(bytes: Uint8Array): Record<string, unknown> {
  try {
    return decodeEnvelope(bytes);
  } catch (e) {
    // The wire reader's own errors (premature EOF, bad varint, invalid wire type) are the bytes' fault too.
    throw e instanceof ProtobufDecodeError ? e : new ProtobufDecodeError((e as Error).message);
  }
}

function decodeEnvelope(bytes: Uint8Array): Record<string, unknown> {
  if (!hasMagic(bytes)) throw new ProtobufDecodeError('provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]');
  const env = decodeMessage(unknownDef(), bytes.subarray(MAGIC.length));
  const tm = (env['typeMeta'] ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = tm.apiVersion ?? '';
  const kind = tm.kind ?? '';
  if (env['contentEncoding'] !== undefined) throw new ProtobufDecodeError(`unsupported content encoding ${JSON.stringify(env['contentEncoding'])}`);
  const def = messageForKind(apiVersion, kind);
  if (!def) throw new ProtobufDecodeError(kind === '' ? 'object has no kind in its typeMeta' : `no kind "${kind}" is registered for version "${apiVersion}"`);
  const raw = typeof env['raw'] === 'string' ? Buffer.from(env['raw'], 'base64') : new Uint8Array();
  return { kind, apiVersion, ...decodeMessage(def, raw) };
}
