// Flat config: typescript-eslint's recommended rules, plus the project's rule that no `any` crosses a boundary.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**', '.data/**', 'tools/target/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // The DOM types are in the program for the dashboard's browser code; the server must not reach for them.
    files: ['lib/**/*.ts', 'functions/**/*.ts', 'tools/**/*.ts', 'bench/**/*.ts'],
    ignores: ['lib/admin/dashboard/client/**'],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['window', 'document', 'location', 'history', 'navigator', 'sessionStorage', 'localStorage'].map((name) => ({
          name,
          message: 'A browser global: only lib/admin/dashboard/client runs in the browser.',
        })),
      ],
    },
  },
  {
    // The page embeds these functions by their compiled source: a value import would not exist in the browser.
    files: ['lib/admin/dashboard/client/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportDeclaration[importKind!="type"], ExportAllDeclaration, ExportNamedDeclaration[source]',
          message:
            'Dashboard client code is embedded by its source: import types only (`import type`), export nothing from other files.',
        },
      ],
    },
  },
);
