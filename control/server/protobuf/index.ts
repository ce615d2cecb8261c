/**
 * Protobuf bodies (`application/vnd.kubernetes.protobuf`), as kubectl's typed commands
 * (`create deployment`, `create namespace`, `describe`, …) and client-go's typed
 * clients send and accept them.
 *
 * Contract: `decodeObject` turns a request body into the JSON object Go's decoder
 * would have produced, or throws `ProtobufDecodeError` (the server answers 400);
 * `encodeObject` turns a response object into the envelope, or returns undefined for
 * a kind with no message here (the server then answers JSON, as kube-apiserver does
 * for types without protobuf support). `encodeWatchFrame` frames one watch event.
 * The message layouts are data: schemas/*.ts, generated from upstream generated.proto
 * by scripts/gen-kube-schemas.mjs; one generic codec (codec.ts) walks them.
 *
 * Not modelled: Table and PartialObjectMetadata in protobuf (kubectl asks for those
 * in JSON), unknown-field detection for fieldValidation=Strict (protobuf drops unknown
 * fields before the server sees them, as in kube-apiserver), Quantity canonicalisation.
 */
import { parseAccept } from '../discovery.ts';

export { ProtobufDecodeError } from './codec.ts';
export { decodeObject, encodeObject } from './envelope.ts';
export { encodeWatchFrame, PROTOBUF_WATCH } from './watch.ts';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/**
 * Whether the response should be protobuf: the first media type in Accept that the
 * server can produce is protobuf (client-go lists its preferred type first).
 */
export function wantsProtobuf(accept: string | undefined): boolean {
  for (const m of parseAccept(accept)) {
    if (m.type === PROTOBUF) return m.params['as'] === undefined;
    if (m.type === 'application/json' || m.type === 'application/yaml' || m.type === '*/*' || m.type === 'application/*') return false;
  }
  return false;
}
