// Lint rules that keep the architecture honest (../shared/ARCHITECTURE.md):
// imports only flow downwards (an allow-list per layer), and nothing below cluster/ reads the wall clock
// or Math.random() (determinism: virtual time and one seeded RNG per run).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What each layer may import, as paths from the repository root (a folder or a
 * file; a folder allows everything under it). An allow-list: a folder that is not
 * listed for a layer is out of bounds, so a new folder must be placed in the
 * layering here before anything can depend on it. Test files are exempt.
 */
const allowed = {
  netsim: ['netsim'],
  pcaps: ['pcaps', 'netsim'],
  // control/ never sees packets; its api/ and client/ are what the layers below cluster/ may use.
  control: ['control'],
  proxy: ['proxy', 'netsim', 'control/api', 'control/client'],
  cni: ['cni', 'netsim', 'control/api', 'control/client'],
  apps: ['apps', 'netsim', 'control/api', 'control/client'],
  policy: ['policy', 'netsim', 'control/api', 'control/client'],
  // experiments/stats is pure math with no imports; cluster/verify shares its chi-square.
  cluster: ['cluster', 'netsim', 'pcaps', 'control', 'proxy', 'cni', 'apps', 'policy', 'experiments/stats'],
  // Experiments drive whole clusters; front ends drive experiments.
  experiments: ['experiments', 'cluster', 'netsim', 'pcaps', 'control', 'proxy', 'cni', 'apps', 'policy'],
  observe: ['observe', 'cluster', 'netsim', 'pcaps', 'control', 'proxy', 'cni', 'apps', 'policy'],
  cli: ['cli', 'observe', 'experiments', 'cluster', 'netsim', 'pcaps', 'control', 'proxy', 'cni', 'apps', 'policy'],
  web: ['web', 'observe', 'control/api'],
};

const root = dirname(fileURLToPath(import.meta.url));

/** The repository-relative target of a relative import, or null for packages. */
function target(file, source) {
  if (!source.startsWith('.')) return null;
  return relative(root, resolve(dirname(file), source)).split(sep).join('/');
}

const layering = {
  meta: { type: 'problem', schema: [], messages: { banned: "{{layer}}/ may import only {{allowed}}; '{{source}}' reaches {{target}} (see ARCHITECTURE.md layers and eslint.config.js)" } },
  create(context) {
    const file = relative(root, context.filename).split(sep).join('/');
    const layer = file.split('/')[0];
    const allow = allowed[layer];
    if (!allow || file.endsWith('.test.ts')) return {};
    const check = (node) => {
      const source = node.source && node.source.type === 'Literal' ? node.source.value : null;
      if (typeof source !== 'string') return;
      const to = target(context.filename, source);
      if (to === null) return;
      const ok = allow.some((a) => to === a || to.startsWith(a + '/') || to.replace(/\.(js|ts)$/, '') === a.replace(/\.(js|ts)$/, ''));
      if (!ok) context.report({ node, messageId: 'banned', data: { layer, allowed: allow.join(', '), source, target: to } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

const determinism = {
  files: ['netsim/**/*.ts', 'proxy/**/*.ts', 'cni/**/*.ts', 'apps/**/*.ts', 'policy/**/*.ts', 'pcaps/**/*.ts'],
  rules: {
    'no-restricted-properties': ['error',
      { object: 'Math', property: 'random', message: 'use the run\'s seeded Rng (netsim/time/rng.ts)' },
      { object: 'Date', property: 'now', message: 'use the virtual clock (netsim/time)' },
      { object: 'performance', property: 'now', message: 'use the virtual clock (netsim/time)' },
    ],
    'no-restricted-globals': ['error',
      { name: 'setTimeout', message: 'schedule on the virtual clock (netsim/time/scheduler.ts)' },
      { name: 'setInterval', message: 'schedule on the virtual clock (netsim/time/scheduler.ts)' },
      { name: 'setImmediate', message: 'schedule on the virtual clock (netsim/time/scheduler.ts)' },
    ],
    'no-restricted-syntax': ['error',
      { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'use the virtual clock (netsim/time)' },
    ],
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'netsim-out/**', '.netsim/**', 'web/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  { plugins: { netsim: { rules: { layering } } }, rules: { 'netsim/layering': 'error' } },
  determinism,
);
