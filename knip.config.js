/**
 * knip: exports no other file uses (`npm run lint` runs it after ESLint). Entry points: the CLI, the
 * benches and the tests (knip reads vitest's config too).
 */
export default {
  entry: ['src/cli/main.ts', 'bench/*.ts', 'test/**/*.ts'],
  project: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
  // Installed by the OS (redis-server, promtool) or brought by @salesforce/sfdx-lwc-jest (@lwc/*).
  ignoreBinaries: ['redis-server', 'promtool'],
  ignoreDependencies: ['@lwc/compiler', '@lwc/engine-dom'],
};
