import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseLabelSelector, formatLabelSelector, matchesLabels, SelectorError, parseFieldSelector, formatFieldSelector, matchesFields, labelSelectorFromStruct } from './selectors.ts';

test('label selector: equality and set-based requirements match as the apiserver does', () => {
  const labels = { app: 'nginx', tier: 'web' };
  const m = (s: string, l: Record<string, string> | undefined = labels): boolean => matchesLabels(parseLabelSelector(s), l);
  assert.equal(m(''), true);
  assert.equal(m('app=nginx'), true);
  assert.equal(m('app==nginx'), true);
  assert.equal(m('app!=nginx'), false);
  assert.equal(m('missing!=x'), true, '!= matches an absent label');
  assert.equal(m('app in (nginx,apache)'), true);
  assert.equal(m('app notin (nginx)'), false);
  assert.equal(m('missing notin (x)'), true, 'notin matches an absent label');
  assert.equal(m('tier'), true);
  assert.equal(m('!tier'), false);
  assert.equal(m('!missing'), true);
  assert.equal(m('app=nginx,tier=db'), false, 'requirements are ANDed');
  assert.equal(m('app in (nginx), !missing, tier'), true);
  assert.equal(m('n>3', { n: '5' }), true);
  assert.equal(m('n<3', { n: '5' }), false);
  assert.equal(m('app=', { app: '' }), true);
});

test('label selector: syntax errors are SelectorErrors with the apiserver wording', () => {
  assert.throws(() => parseLabelSelector('app in nginx'), (e: unknown) => e instanceof SelectorError && /expected: '\('/.test(e.message));
  assert.throws(() => parseLabelSelector('app=a,'), SelectorError);
  assert.throws(() => parseLabelSelector('app in ()'), /values set can't be empty/);
  assert.throws(() => parseLabelSelector('-bad=1'), /invalid label key/);
  assert.throws(() => parseLabelSelector('a=b c'), SelectorError);
});

const keyArb = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,8}[a-z0-9])?$/).filter((s) => !s.includes('..'));
const valArb = fc.stringMatching(/^([a-z0-9]([a-z0-9_.-]{0,6}[a-z0-9])?)?$/);
const reqArb = fc.oneof(
  fc.tuple(keyArb, valArb).map(([k, v]) => ({ key: k, op: '=' as const, values: [v] })),
  fc.tuple(keyArb, valArb).map(([k, v]) => ({ key: k, op: '!=' as const, values: [v] })),
  fc.tuple(keyArb, fc.uniqueArray(valArb.filter((v) => v !== ''), { minLength: 1, maxLength: 3 })).map(([k, vs]) => ({ key: k, op: 'in' as const, values: [...vs].sort() })),
  fc.tuple(keyArb, fc.uniqueArray(valArb.filter((v) => v !== ''), { minLength: 1, maxLength: 3 })).map(([k, vs]) => ({ key: k, op: 'notin' as const, values: [...vs].sort() })),
  keyArb.map((k) => ({ key: k, op: 'exists' as const, values: [] })),
  keyArb.map((k) => ({ key: k, op: '!' as const, values: [] })),
);

test('property: the parser throws nothing but SelectorError on arbitrary strings', () => {
  fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => {
    try { parseLabelSelector(s); } catch (e) { assert.ok(e instanceof SelectorError, String(e)); }
    try { parseFieldSelector(s); } catch (e) { assert.ok(e instanceof SelectorError, String(e)); }
  }), { numRuns: 500 });
  fc.assert(fc.property(fc.array(fc.constantFrom('a', '=', '!', ',', '(', ')', ' ', 'in', 'notin', 'x', '==', '!=', '>', '1'), { maxLength: 12 }).map((a) => a.join('')), (s) => {
    try { parseLabelSelector(s); } catch (e) { assert.ok(e instanceof SelectorError, String(e)); }
  }), { numRuns: 500 });
});

test('property: parse(format(sel)) == sel and format is a fixed point', () => {
  fc.assert(fc.property(fc.array(reqArb, { minLength: 0, maxLength: 4 }), (reqs) => {
    const text = formatLabelSelector(reqs);
    const parsed = parseLabelSelector(text);
    assert.deepEqual(parsed, reqs);
    assert.equal(formatLabelSelector(parsed), text);
  }), { numRuns: 300 });
});

test('property: matching semantics agree with a direct definition', () => {
  const labelsArb = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('x', 'y', ''), { maxKeys: 3 });
  const r2 = fc.oneof(
    fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('x', 'y')).map(([k, v]) => ({ key: k, op: '=' as const, values: [v] })),
    fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.constantFrom('x', 'y')).map(([k, v]) => ({ key: k, op: '!=' as const, values: [v] })),
    fc.constantFrom('a', 'b', 'c').map((k) => ({ key: k, op: 'exists' as const, values: [] })),
    fc.constantFrom('a', 'b', 'c').map((k) => ({ key: k, op: '!' as const, values: [] })),
    fc.constantFrom('a', 'b', 'c').map((k) => ({ key: k, op: 'in' as const, values: ['x', 'y'] })),
    fc.constantFrom('a', 'b', 'c').map((k) => ({ key: k, op: 'notin' as const, values: ['x'] })),
  );
  fc.assert(fc.property(fc.array(r2, { maxLength: 3 }), labelsArb, (reqs, labels) => {
    const expected = reqs.every((r) => {
      const has = r.key in labels;
      const v = labels[r.key];
      switch (r.op) {
        case '=': return has && v === r.values[0];
        case '!=': return !has || v !== r.values[0];
        case 'exists': return has;
        case '!': return !has;
        case 'in': return has && r.values.includes(v!);
        case 'notin': return !has || !r.values.includes(v!);
      }
      return false;
    });
    assert.equal(matchesLabels(parseLabelSelector(formatLabelSelector(reqs)), labels), expected);
  }), { numRuns: 500 });
});

test('field selectors: =, ==, != over dotted paths, escapes round-trip', () => {
  const pod = { metadata: { name: 'p1', namespace: 'default' }, spec: { nodeName: 'node-1' }, status: { phase: 'Running' } };
  assert.equal(matchesFields(parseFieldSelector('metadata.name=p1,status.phase==Running'), pod), true);
  assert.equal(matchesFields(parseFieldSelector('spec.nodeName!=node-1'), pod), false);
  assert.equal(matchesFields(parseFieldSelector('spec.nodeName='), { spec: {} }), true, 'absent field equals empty');
  assert.throws(() => parseFieldSelector('metadata.name'), SelectorError);
  fc.assert(fc.property(fc.string({ maxLength: 10 }), (v) => {
    const reqs = [{ field: 'metadata.name', op: '=' as const, value: v }];
    assert.deepEqual(parseFieldSelector(formatFieldSelector(reqs)), reqs);
  }));
});

test('LabelSelector struct: matchLabels and matchExpressions', () => {
  const sel = labelSelectorFromStruct({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'x', operator: 'DoesNotExist' }] })!;
  assert.equal(formatLabelSelector(sel), 'app=web,tier in (a,b),!x');
  assert.equal(matchesLabels(sel, { app: 'web', tier: 'b' }), true);
  assert.equal(matchesLabels(sel, { app: 'web', tier: 'b', x: '1' }), false);
  assert.equal(labelSelectorFromStruct(undefined), undefined);
});
