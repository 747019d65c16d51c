/**
 * ESLint (flat config): import cycles (import-x/no-cycle, on top of test/architecture.test.ts's folder
 * rules) and unused variables (@typescript-eslint/no-unused-vars), over src, test, bench and bin; and, in src,
 * no function over 150 lines (max-lines-per-function, blank lines and comments not counted): a longer one is
 * split into named steps.
 * Formatting is Prettier's (prettier.config.js), not ESLint's.
 *
 * typescript-eslint parses with TypeScript's classic API, which TypeScript 7 (our compiler) no longer
 * ships: in this process `typescript` resolves to typescript-5 (5.9, used only to parse). Type checking
 * stays with tsc 7 (`npm run typecheck`).
 */
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === 'typescript' || specifier.startsWith('typescript/'))
      return nextResolve(specifier.replace(/^typescript/, 'typescript-5'), context);
    return nextResolve(specifier, context);
  },
});

const { default: tseslint } = await import('typescript-eslint');
const { createNodeResolver, importX } = await import('eslint-plugin-import-x');

export default [
  {
    ignores: ['dist/', 'coverage/', 'node_modules/', '.tools/', 'salesforce/', 'portal/', 'test-results/', '**/*.d.ts'],
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 'latest', sourceType: 'module' },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // Sources import './x.js' for './x.ts' (NodeNext).
      'import-x/resolver-next': [
        createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.json'], extensionAlias: { '.js': ['.ts', '.js'] } }),
      ],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrors: 'none',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines-per-function': ['error', { max: 150, skipBlankLines: true, skipComments: true }],
    },
  },
];
