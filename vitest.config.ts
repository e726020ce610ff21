import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
    // Browser tests need Chromium and run on their own: `npm run test:browser`.
    exclude: [...configDefaults.exclude, 'examples/*/test/browser/**'],
    globalSetup: ['test/setup/postgres-global-setup.ts'],
    reporters: ['default', './test/setup/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
