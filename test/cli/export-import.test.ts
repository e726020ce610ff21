import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { postgresUrl, run, seed, sqliteDir, store } from './cli-harness.js';

const dir = sqliteDir();
const sqlite = (name: string) => `sqlite:${join(dir, `${name}.db`)}`;

describe('export and import', () => {
  it('a SQLite backup restores into PostgreSQL and back, idempotently, and cookies still read', async () => {
    const source = sqlite('source');
    const expiresAt = Date.now() + 3_600_000;
    await seed(source, 1500, expiresAt, 'x', 7);
    await seed(source, 5, Date.now() - 1000, 'gone', 1);
    const file = join(dir, 'backup.jsonl');

    const exported = await run(['export', '--url', source, '--file', file]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/exported 1,500 sessions/);
    expect(existsSync(`${file}.partial`)).toBe(false);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1500);
    expect(Object.keys(JSON.parse(lines[0]!)).sort()).toEqual(
      ['createdAt', 'data', 'expiresAt', 'key', 'updatedAt', 'userId'].sort(),
    );
    const all = await run(['export', '--url', source, '--include-expired']);
    expect(all.stdout.trim().split('\n')).toHaveLength(1505);

    const pg = postgresUrl('ei');
    const first = await run(['import', '--url', pg, '--file', file]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/imported 1,500 of 1,500 sessions\n/);
    const again = await run(['import', '--url', pg, '--file', file]);
    expect(again.code, again.stderr).toBe(0);
    const s = store(pg);
    expect(await s.count()).toBe(1500);
    expect(await s.load('x42')).toEqual({ data: { userId: 'user0', n: 42 }, expiresAt });
    await s.close();

    const back = sqlite('back');
    const piped = await run(['export', '--url', pg]);
    const restored = await run(['import', '--url', back], { input: piped.stdout });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/imported 1,500 of 1,500 sessions/);
  });

  it('a line that is not an exported row fails with its line number (exit 1)', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, '{"key":1}\n');
    const r = await run(['import', '--url', sqlite('bad'), '--file', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 1 is not a row written by `sessionsql export`/);
    const missing = await run(['import', '--url', sqlite('bad'), '--file', join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read/);
  });
});
