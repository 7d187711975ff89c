// ESLint flat config. Type-aware rules run on TypeScript through the project
// service (tsconfig.json covers src/, test/, bench/); plain JS tooling files
// (this file, bin/, test/support/*.js) get the untyped recommended rules.

import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Node globals for the plain JS files (TypeScript files get them from @types/node). */
const nodeGlobals = Object.fromEntries(
  [
    'process',
    'console',
    'URL',
    'URLSearchParams',
    'Buffer',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'structuredClone',
  ].map((name) => [name, 'readonly']),
);

/** Anything with I/O, a logger or a datapath stays out of the pure layers. */
const impureModules = [
  '@kubernetes/client-node',
  'koffi',
  'node:fs',
  'fs',
  'node:fs/promises',
  'fs/promises',
  'node:child_process',
  'child_process',
  'pino',
];
const impureMessage =
  'src/compiler and src/model are pure (STYLE.md "One-way dependencies"): no I/O, FFI, logger or API client.';

export default tseslint.config(
  {
    ignores: ['dist/**', 'build/**', 'coverage/**', '**/node_modules/**', 'bench/results/**'],
  },

  js.configs.recommended,

  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/no-non-null-assertion': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },

  // Small files: everything but tests.
  {
    files: ['**/*.ts'],
    ignores: ['test/**'],
    rules: {
      'max-lines': ['error', { max: 300, skipBlankLines: true, skipComments: true }],
    },
  },
  // Small functions in the product code.
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },

  // The compiler and the model are pure: see STYLE.md "What our project should absorb" 1-2.
  {
    files: ['src/compiler/**/*.ts', 'src/model/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: impureModules.map((name) => ({ name, message: impureMessage })),
          patterns: [
            {
              group: ['@kubernetes/client-node/*', 'pino/*', 'koffi/*'],
              message: impureMessage,
            },
            {
              group: ['**/datapath', '**/datapath/**', '**/source', '**/source/**', '**/cli', '**/cli/**'],
              message:
                'Dependencies point one way: source → state → compiler → datapath. Move shared types to src/model/.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: impureMessage },
        { name: 'console', message: 'The compiler does not log: return provenance instead.' },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'ImportExpression', message: 'No dynamic imports in pure code.' },
        {
          selector: "MemberExpression[object.name='Date'][property.name='now']",
          message: 'The compiler has no clock: take time as an input.',
        },
        {
          selector: "MemberExpression[object.name='Math'][property.name='random']",
          message: 'Compiler output must be deterministic.',
        },
      ],
    },
  },

  // Tests: pragmatic. Assertions narrow loosely, fixtures come from JSON, and
  // node:test's test()/describe() return promises nobody needs to await.
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-empty-function': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'skip', 'todo', 'only'],
            },
            // describe.skip, it.todo, …: declared in nested namespaces, which the
            // 'package' matcher above does not see through (typescript-eslint 8.34).
            { from: 'file', path: 'node_modules/@types/node/test.d.ts', name: ['skip', 'todo', 'only'] },
          ],
        },
      ],
    },
  },

  // Plain JS tooling: bin/, test/support/, this file.
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      sourceType: 'module',
      ecmaVersion: 2023,
      globals: nodeGlobals,
    },
  },
);
