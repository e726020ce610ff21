import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { postgresUrl, run, sqliteDir, store } from './cli-harness.js';

const dir = sqliteDir();
const databases = [
  ['sqlite', (name: string) => `sqlite:${join(dir, `${name}.db`)}`],
  ['postgres', (name: string) => postgresUrl(`mc_${name}`)],
] as const;

describe.each(databases)('migrate and check on %s', (_dialect, urlFor) => {
  it('migrate creates the table, then says it is up to date; check passes and leaves nothing', async () => {
    const url = urlFor('a');
    const first = await run(['migrate', '--url', url]);
    expect(first, first.stderr).toMatchObject({ code: 0 });
    expect(first.stdout).toMatch(/migrated: table sessions now at 0004_user_index_without_expiry/);
    const again = await run(['migrate'], { env: { SESSION_DB_URL: url } });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/up to date: table sessions at 0004_user_index_without_expiry/);

    const check = await run(['check', '--url', url]);
    expect(check.code, check.stderr).toBe(0);
    for (const step of ['connect', 'migrations', 'write', 'read', 'touch', 'delete']) {
      expect(check.stdout).toMatch(new RegExp(`ok +${step} +\\d+\\.\\d ms`));
    }
    const s = store(url);
    expect(await s.count()).toBe(0);
    expect(await s.table.exportRows({ includeExpired: true })).toEqual([]);
    await s.close();
  });

  it('three migrate runs at once all succeed', async () => {
    const url = urlFor('b');
    const runs = await Promise.all([1, 2, 3].map(() => run(['migrate', '--url', url, '--table', 'concurrent'])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const check = await run(['check', '--url', url, '--table', 'concurrent']);
    expect(check.code, check.stderr).toBe(0);
  });

  it('check fails at the migrations step on a missing table, saying to run migrate', async () => {
    const url = urlFor('c');
    await run(['migrate', '--url', url]);
    const check = await run(['check', '--url', url, '--table', 'never_made']);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/FAIL connect/);
    expect(check.stderr).toMatch(/sessionsql migrate/);
  });
});

describe('check on bad input', () => {
  it('an unreachable server fails at connect within the timeout, password never printed', async () => {
    const started = Date.now();
    const r = await run(['check', '--url', 'postgres://app:s3cret@127.0.0.1:1/app', '--timeout', '2']);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.stdout).toMatch(/FAIL connect/);
    expect(r.stderr).toMatch(/cannot connect to postgres at 127\.0\.0\.1:1\/app/);
    expect(r.stdout + r.stderr).not.toMatch(/s3cret/);
    expect(r.stdout).toMatch(/app:\*\*\*@/);
  });

  it('a SQLite file that is not there is refused (exit 2) and not created', async () => {
    const file = join(dir, 'missing.db');
    const r = await run(['check', '--url', `sqlite:${file}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not exist/);
    expect(existsSync(file)).toBe(false);
  });
});
