import { defineConfig } from 'vitest/config';

/** `npm run test:browser`: the example app in a real Chromium (see examples/express-login/test/browser). */
export default defineConfig({
  test: {
    include: ['examples/*/test/browser/**/*.test.ts'],
    reporters: ['default', './test/setup/summary-reporter.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
