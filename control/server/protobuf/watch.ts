/**
 * Protobuf watch streams (`application/vnd.kubernetes.protobuf;stream=watch`), as
 * kube-apiserver's watch handler writes them: each event is a metav1.WatchEvent
 * encoded by the raw serializer (no `k8s\0` envelope), whose object.raw holds the
 * object in its full envelope, and the frame is that message behind a 4-byte
 * big-endian length (apimachinery framer.NewLengthDelimitedFrameWriter).
 */
import { messageDef } from './schema.ts';
import { encodeMessage } from './codec.ts';
import { encodeObject } from './envelope.ts';

export const PROTOBUF_WATCH = 'application/vnd.kubernetes.protobuf;stream=watch';

/** One frame, or undefined when the object's kind has no message (the caller falls back to JSON). */
export function encodeWatchFrame(type: string, object: unknown): Uint8Array | undefined {
  const inner = encodeObject(object);
  const def = messageDef('meta.WatchEvent');
  if (!inner || !def) return undefined;
  const ev = encodeMessage(def, { type, object: inner });
  const out = new Uint8Array(4 + ev.length);
  new DataView(out.buffer).setUint32(0, ev.length, false);
  out.set(ev, 4);
  return out;
}
