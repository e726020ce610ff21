import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { postgresUrl, run, seed, sqliteDir, store } from './cli-harness.js';

const dir = sqliteDir();
const databases = [
  ['sqlite', (name: string) => `sqlite:${join(dir, `${name}.db`)}`],
  ['postgres', (name: string) => postgresUrl(`spu_${name}`)],
] as const;

describe.each(databases)('stats, prune and users on %s', (_dialect, urlFor) => {
  it('stats counts live and expired sessions and users; prune deletes the expired in batches', async () => {
    const url = urlFor('a');
    await seed(url, 30, Date.now() + 3_600_000, 'live', 3);
    await seed(url, 25, Date.now() - 1000, 'old', 5);

    const json = await run(['stats', '--url', url, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const stats = JSON.parse(json.stdout);
    expect(stats).toMatchObject({
      live: 30,
      expired: 25,
      users: 3,
      version: '0004_user_index_without_expiry',
      upToDate: true,
    });
    expect(stats.topUsers).toEqual([
      { userId: 'user0', sessions: 10 },
      { userId: 'user1', sessions: 10 },
      { userId: 'user2', sessions: 10 },
    ]);
    const text = await run(['stats', '--url', url]);
    expect(text.stdout).toMatch(/live sessions +30\n/);
    expect(text.stdout).toMatch(/expired \(to prune\) +25\n/);
    expect(text.stdout).toMatch(/top users +sessions\nuser0 +10/);

    const prune = await run(['prune', '--url', url, '--batch-size', '10']);
    expect(prune.code, prune.stderr).toBe(0);
    expect(prune.stdout).toMatch(/deleted 25 expired sessions/);
    expect(prune.stderr).toMatch(/prune: 25\/25 \(100%\)/);
    expect(JSON.parse((await run(['stats', '--url', url, '--json'])).stdout)).toMatchObject({ live: 30, expired: 0 });
    expect((await run(['prune', '--url', url])).stdout).toMatch(/no expired sessions/);
  });

  it('users list shows handles, never ids; sign-out keeps --except', async () => {
    const url = urlFor('b');
    await seed(url, 9, Date.now() + 3_600_000, 'u', 3); // user0: u0, u3, u6
    const s = store(url);
    const handles = ['u0', 'u3', 'u6'].map((id) => s.handleOf(id));
    await s.close();

    const list = await run(['users', 'list', 'user0', '--url', url]);
    expect(list.code, list.stderr).toBe(0);
    for (const handle of handles) expect(list.stdout).toContain(handle);
    expect(list.stdout).not.toMatch(/\bu[036]\b/);
    const json = await run(['users', 'list', 'user0', '--url', url, '--json']);
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).handle)
        .sort(),
    ).toEqual([...handles].sort());

    const out = await run(['users', 'sign-out', 'user0', '--except', 'u3', '--url', url]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/signed user0 out of 2 sessions/);
    const after = await run(['users', 'list', 'user0', '--url', url, '--json']);
    expect(
      after.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).handle),
    ).toEqual([handles[1]]);
    expect((await run(['users', 'list', 'nobody', '--url', url])).stdout).toMatch(/no live sessions for nobody/);
  });
});
