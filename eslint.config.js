// ESLint flat config: typescript-eslint strictTypeChecked, plus import boundaries per folder.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = ['node:*', 'fs', 'net', 'os', 'path', 'child_process', 'http'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'scripts/**', 'bin/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['src/protocol/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [...nodeBuiltins, '../*'] }],
    },
  },
  {
    // Allow-list: broker/ imports only itself and protocol/; time comes in through the Clock.
    files: ['src/broker/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!\\./[^/]+$|\\.\\./protocol/[^/]+$)',
              message: 'src/broker imports only src/broker and src/protocol',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        ...['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval'].map(
          (name) => ({ name, message: 'use the Clock from the options' }),
        ),
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'use the Clock from the options' },
      ],
    },
  },
  {
    files: ['src/client/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['../broker/*', '../daemon/*', '../cli/*'] }],
    },
  },
  {
    files: ['src/cli/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['../broker/*', '../transport/*'] }],
    },
  },
  {
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
    },
  },
);
