import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'coverage/**',
      'node_modules/**',
      '.data/**',
      'test/fixtures/*/dist/**',
      'test/fixtures/app-prisma/generated/**',
      'docs/.vitepress/dist/**',
      'docs/.vitepress/cache/**',
    ],
  },
  js.configs.recommended,
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    // Fixtures and the consumer suite's templates are compiled by their own
    // tests, against the built package (the templates inside generated apps).
    ignores: ['test/fixtures/**', 'test/consumer/**'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    // The entry points (index.ts of the library, of storage/ and of
    // migrations/) are for users: inside, import the file that declares a
    // thing, so an entry point never sits on an import path (or in a cycle).
    files: ['src/eventstream/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.{1,2}/)*(\\.{1,2}|storage|migrations)(/index)?$',
              message: 'Import the file that declares it, not an entry point of the package.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['*.ts', 'test/fixtures/**/*.ts', 'test/consumer/**/*.ts'],
    extends: [tseslint.configs.recommended],
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  prettier,
);
