/**
 * The test rig's embedded PostgreSQL (test/setup/embedded-postgres-server.mjs) on a developer's
 * machine, run as root from a checkout under a directory only root can enter (root's home, a
 * `mktemp -d`). PostgreSQL then runs as the user `postgres`, which cannot reach the binaries
 * npm installed there. The checkout is stood in for by a copy of the script in such a
 * directory, with a link to node_modules that node keeps as it is (--preserve-symlinks), so
 * every path the script sees lies under that directory.
 */
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectedDialects } from './dialects.js';

const SERVER_SCRIPT = fileURLToPath(new URL('./setup/embedded-postgres-server.mjs', import.meta.url));

describe.runIf(
  process.getuid?.() === 0 &&
    selectedDialects().includes('postgres') &&
    // With a server of their own, the tests do not start the embedded one.
    !process.env.SESSIONSQL_TEST_POSTGRES_URL,
)('embedded PostgreSQL for the tests, run as root', () => {
  let outer = '';
  /** The server's TMPDIR, to see what it puts there and that it removes it. */
  let temp = '';
  beforeAll(() => {
    outer = mkdtempSync(join(tmpdir(), 'sessionsql-root-only-'));
    chmodSync(outer, 0o700);
    copyFileSync(SERVER_SCRIPT, join(outer, 'embedded-postgres-server.mjs'));
    symlinkSync(resolve('node_modules'), join(outer, 'node_modules'), 'dir');
    temp = mkdtempSync(join(tmpdir(), 'sessionsql-root-only-tmp-'));
    chmodSync(temp, 0o755);
  });
  afterAll(() => {
    rmSync(outer, { recursive: true, force: true });
    rmSync(temp, { recursive: true, force: true });
  });

  it('starts from a checkout under a directory only root can enter, and removes its files when stopped', async () => {
    const child = spawn(
      process.execPath,
      ['--preserve-symlinks', '--preserve-symlinks-main', join(outer, 'embedded-postgres-server.mjs')],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: temp } },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const closed = new Promise<number | null>((done) => child.once('close', done));
    const message = await new Promise<{ url?: string; error?: string }>((done) => {
      createInterface({ input: child.stdout }).once('line', (line) => done(JSON.parse(line)));
      void closed.then((code) => done({ error: `exited with code ${code}: ${stderr}` }));
    });
    try {
      expect(message.error).toBeUndefined();
      // It runs the binaries from a copy in its temp dir, which the postgres user can enter.
      const [dir, ...others] = readdirSync(temp);
      expect(others).toEqual([]);
      expect(existsSync(join(temp, dir!, 'binaries', 'native', 'bin', 'postgres'))).toBe(true);
      const client = new pg.Client({ connectionString: message.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ user: string }>('select current_user as user');
        expect(rows).toEqual([{ user: 'postgres' }]);
      } finally {
        await client.end();
      }
    } finally {
      child.stdin.end();
      await closed;
    }
    expect(await closed).toBe(0);
    expect(readdirSync(temp), 'left behind in its temp dir').toEqual([]);
    expect(stderr).toBe('');
  });
});
