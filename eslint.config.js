// Lint rules that keep the architecture honest (../shared/ARCHITECTURE.md):
// imports only flow downwards, and nothing below cluster/ reads the wall clock
// or Math.random() (determinism: virtual time and one seeded RNG per run).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Folders a layer may not import from, relative to the repository root. */
const forbidden = {
  netsim: ['control', 'proxy', 'cni', 'cluster', 'cli', 'web', 'pcaps'],
  pcaps: ['control', 'proxy', 'cni', 'cluster', 'cli', 'web'],
  control: ['netsim', 'proxy', 'cni', 'cluster', 'cli', 'web', 'pcaps'],
  // proxy/ and cni/ reach the control plane only through control/api and control/client.
  proxy: ['cni', 'cluster', 'cli', 'web', 'control/store', 'control/server', 'control/controllers'],
  cni: ['cluster', 'cli', 'web', 'control/store', 'control/server', 'control/controllers'],
  // experiments/stats is pure math with no imports; cluster/verify shares its chi-square.
  cluster: ['cli', 'web', 'experiments/runner', 'experiments/report', 'experiments/testing', 'experiments/results.ts', 'experiments/experiment-spec.ts', 'experiments/format.ts', 'experiments/index.ts'],
  // Experiments drive whole clusters; front ends drive experiments.
  experiments: ['cli', 'web'],
};

function importRule(layer, banned) {
  // Patterns match relative paths that climb out of the layer into a banned one.
  const patterns = banned.flatMap((b) => [`../${b}/*`, `../../${b}/*`, `../../../${b}/*`, `../../../../${b}/*`, `../${b}`, `../../${b}`, `../../../${b}`]);
  return {
    files: [`${layer}/**/*.ts`],
    ignores: [`${layer}/**/*.test.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: patterns, message: `${layer}/ must not import ${banned.join(', ')} (see ARCHITECTURE.md layers)` }],
      }],
    },
  };
}

const determinism = {
  files: ['netsim/**/*.ts', 'proxy/**/*.ts', 'cni/**/*.ts', 'pcaps/**/*.ts'],
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
  ...Object.entries(forbidden).map(([layer, banned]) => importRule(layer, banned)),
  determinism,
);
