// Flat config. The import rules enforce the architecture: measurements/ and image/formats/ are
// pure (no fs, network, child processes, execa, AWS SDK or sigstore); only pipeline/ composes I/O.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const impure = [
  'fs',
  'node:fs',
  'fs/promises',
  'node:fs/promises',
  'child_process',
  'node:child_process',
  'net',
  'node:net',
  'http',
  'node:http',
  'https',
  'node:https',
  'dgram',
  'node:dgram',
  'execa',
  'sigstore',
  '@sigstore/*',
  '@aws-sdk/*',
  'listr2',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.cache/**',
      'coverage/**',
      'pipeline/schema/validators.generated.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['measurements/**/*.ts', 'image/formats/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: impure, message: 'this folder is pure: no I/O' }] },
      ],
    },
  },
  {
    files: ['**/*.mjs', 'bench/**', 'scripts/**'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
