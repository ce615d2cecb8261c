// The SpecError a cluster spec's text gives, for tests of the spec's checks (a test
// fails when the text parses, or fails with anything else).
import assert from 'node:assert/strict';
import { parseClusterSpec, SpecError } from '../../cluster/spec.ts';

export function specError(text: string): SpecError {
  try {
    parseClusterSpec(text, 'c.yaml');
  } catch (e) {
    assert.ok(e instanceof SpecError, `expected SpecError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}
