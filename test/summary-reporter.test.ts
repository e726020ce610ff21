/**
 * The `N passed, N failed` line that CI sums: a real vitest run over small test files, so that
 * a file which fails without a failing test (a throwing beforeAll, a broken import) is counted.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const VITEST = join(createRequire(import.meta.url).resolve('vitest/package.json'), '..', 'vitest.mjs');
const REPORTER = fileURLToPath(new URL('./setup/summary-reporter.ts', import.meta.url));
const dirs: string[] = [];

/** Runs vitest (globals on, no config) over `files` and returns the last line it printed. */
function summaryOf(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sessionsql-summary-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const run = spawnSync(process.execPath, [VITEST, 'run', '--root', dir, '--globals', '--reporter', REPORTER], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return run.stdout.trim().split('\n').at(-1) ?? '';
}

describe('summary reporter', () => {
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('counts passed and failed tests', () => {
    expect(summaryOf({ 'a.test.js': "it('ok', () => {}); it('bad', () => { throw new Error('no'); });" })).toBe(
      '1 passed, 1 failed',
    );
  });

  it('counts a file whose beforeAll throws as failed, its tests as skipped', () => {
    expect(
      summaryOf({
        'a.test.js': "describe('s', () => { beforeAll(() => { throw new Error('no'); }); it('t', () => {}); });",
        'b.test.js': "it('ok', () => {});",
      }),
    ).toBe('1 passed, 1 failed, 1 skipped');
  });

  it('counts a file that cannot load as failed', () => {
    expect(summaryOf({ 'a.test.js': "import './missing.js'; it('t', () => {});" })).toBe('0 passed, 1 failed');
  });
});
