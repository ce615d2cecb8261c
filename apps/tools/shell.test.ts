// The exec shell's parser: POSIX quoting and list operators, and a refusal (never
// a crash) for what it does not model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseShell, ShellSyntaxError } from './shell.ts';

test('sh -c parsing: quotes, escapes and ; && || split as dash splits them', () => {
  assert.deepEqual(parseShell(`curl -s 'http://a b/' && echo "x \\"y\\"" || echo\\ z; true`), [
    { words: ['curl', '-s', 'http://a b/'], op: ';' },
    { words: ['echo', 'x "y"'], op: '&&' },
    { words: ['echo z'], op: '||' },
    { words: ['true'], op: ';' },
  ]);
  assert.deepEqual(parseShell(`echo ''`), [{ words: ['echo', ''], op: ';' }], 'an empty quoted word is a word');
  assert.deepEqual(parseShell('a;;b'), [{ words: ['a'], op: ';' }, { words: ['b'], op: ';' }]);
  for (const bad of ['a &&', '&& a', "echo 'x", 'echo "x', 'a | b', 'a > f', 'echo $HOME', 'a &']) {
    assert.throws(() => parseShell(bad), ShellSyntaxError, bad);
  }
});

test('sh -c parsing (property): any text parses or is a ShellSyntaxError', () => {
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom('a', ' ', "'", '"', '\\', ';', '&', '|', '$', '\n', 'b') }), (text) => {
    try {
      for (const s of parseShell(text)) assert.ok(s.words.length > 0);
    } catch (e) {
      assert.ok(e instanceof ShellSyntaxError, String(e));
    }
  }), { numRuns: 3000 });
});
