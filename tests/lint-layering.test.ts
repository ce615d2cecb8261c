// The layering lint (eslint.config.js) is an allow-list: these cases would pass
// silently if the rule stopped firing, or if a layer's list grew by accident.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

async function layeringErrors(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [res] = await eslint.lintText(code, { filePath: join(root, file) });
  return res!.messages.filter((m) => m.ruleId === 'netsim/layering').map((m) => m.message);
}

const cases: Array<{ file: string; code: string; banned: boolean }> = [
  { file: 'netsim/x.ts', code: "export * from '../cluster/index.js';", banned: true },
  { file: 'netsim/stack/x.ts', code: "export * from '../wire/index.js';", banned: false },
  { file: 'proxy/x.ts', code: "export * from '../control/server/app.js';", banned: true },
  { file: 'proxy/x.ts', code: "export * from '../control/api/index.js';", banned: false },
  { file: 'cni/flannel/x.ts', code: "const m = await import('../../cli/main.js'); export default m;", banned: true },
  { file: 'control/x.ts', code: "import { a } from '../netsim/index.js'; export const b = a;", banned: true },
  // A folder nobody has placed in the layering is out of bounds for everyone.
  { file: 'cluster/x.ts', code: "export * from '../nowhere/index.js';", banned: true },
  { file: 'cluster/x.ts', code: "export * from '../experiments/stats/index.js';", banned: false },
  { file: 'cluster/x.ts', code: "export * from '../experiments/runner/index.js';", banned: true },
  { file: 'cluster/x.ts', code: "export * from 'node:fs';", banned: false },
];

for (const c of cases) {
  test(`layering: ${c.file} ${c.code} is ${c.banned ? 'refused' : 'allowed'}`, async () => {
    const errors = await layeringErrors(c.file, c.code);
    assert.equal(errors.length, c.banned ? 1 : 0, errors.join('\n'));
  });
}

test('layering: test files are exempt', async () => {
  assert.deepEqual(await layeringErrors('netsim/x.test.ts', "export * from '../cluster/index.js';"), []);
});
