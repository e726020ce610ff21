import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { postgresUrl, run, seed, sqliteDir, start, store } from './cli-harness.js';

const dir = sqliteDir();
const sqlite = (name: string) => `sqlite:${join(dir, `${name}.db`)}`;

describe('copy', () => {
  it('SQLite → PostgreSQL → PostgreSQL → SQLite keeps keys, data, expiry and users, idempotently', async () => {
    const a = sqlite('a');
    const expiresAt = Date.now() + 3_600_000;
    await seed(a, 1200, expiresAt, 'c', 4);
    await seed(a, 10, Date.now() - 1000, 'old', 1);
    const [pg1, pg2] = [postgresUrl('copy1'), postgresUrl('copy2')];
    const b = sqlite('b');
    const stateFile = join(dir, 'state.json');
    for (const [from, to] of [
      [a, pg1],
      [pg1, pg2],
      [pg2, b],
    ]) {
      const r = await run(['copy', '--from', from!, '--to', to!, '--state', stateFile]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(
        /copied 1,200 sessions\nsource: 1,200, destination: 1,200 live sessions\nsample: 100\/100 identical\nverified/,
      );
      expect(existsSync(stateFile)).toBe(false);
    }
    const again = await run(['copy', '--from', a, '--to', pg1, '--state', stateFile]);
    expect(again.stdout).toMatch(/destination: 1,200 live sessions/);
    const s = store(b);
    expect(await s.load('c7')).toEqual({ data: { userId: 'user3', n: 7 }, expiresAt });
    expect(await s.countSessionsForUser('user1')).toBe(300);
    expect((await s.table.stats()).expired).toBe(0);
    await s.close();
  });

  it('resumes after Ctrl-C from its checkpoint, without duplicates or losses', async () => {
    const from = sqlite('big');
    await seed(from, 4000, Date.now() + 3_600_000, 'r', 10);
    const to = postgresUrl('resume');
    const stateFile = join(dir, 'resume.json');
    const args = ['copy', '--from', from, '--to', to, '--batch-size', '2', '--state', stateFile];
    const { child, result } = start(args);
    let ended = false;
    void result.then(() => {
      ended = true;
    });
    while (!existsSync(stateFile) && !ended) await sleep(5);
    child.kill('SIGINT');
    const stopped = await result;
    expect(stopped.code, JSON.stringify(stopped)).toBe(130);
    expect(stopped.stderr).toMatch(/interrupted after [\d,]+ sessions; run the same command again to resume/);
    const checkpoint = JSON.parse(readFileSync(stateFile, 'utf8'));
    expect(checkpoint.copied).toBeGreaterThan(0);
    expect(checkpoint.copied).toBeLessThan(4000);

    const resumed = await run(args);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming after [\d,]+ sessions copied before/);
    expect(resumed.stdout).toMatch(/copied 4,000 sessions\nsource: 4,000, destination: 4,000 live sessions/);
    const s = store(to);
    expect(await s.count()).toBe(4000);
    await s.close();
  });

  it('refuses --from equal to --to, a missing --to and an unknown scheme (exit 2), touching nothing', async () => {
    const a = sqlite('same');
    const same = await run(['copy', '--from', a, '--to', `sqlite:${join(dir, '.', 'same.db')}`]);
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/--from and --to name the same database/);
    expect(existsSync(join(dir, 'same.db'))).toBe(false);
    expect((await run(['copy', '--from', a])).stderr).toMatch(/pass --to <url>/);
    const scheme = await run(['copy', '--from', a, '--to', 'redis://x']);
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toMatch(/"redis:" is not supported/);
  });
});
