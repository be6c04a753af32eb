// House style: strict, type-aware, no floating promises, exhaustive switches, no `any`, no console.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/generated/**', 'jest.config.js', 'eslint.config.mjs', '**/vite.config.mjs'] },
  ...tseslint.configs.recommended,
  {
    // The console (apps/console) is typed by its own tsconfig (DOM, Preact's JSX); the project service finds it.
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      'no-console': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    // Tests build loose fixtures from YAML; `any` there is for mutating parsed documents.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.fault-spec.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
