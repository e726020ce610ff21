/**
 * Several processes starting at once on a SQLite file that does not exist yet (a cluster of
 * workers on a first deploy): every one of them must come up. Switching a new file to WAL reads
 * it, then takes its write lock; when another process holds that lock (it is switching the file
 * too), SQLite answers SQLITE_BUSY at once instead of waiting for the busy timeout. The first
 * test holds the lock on purpose, so it fails every time the wait is missing; the second starts
 * processes together on a fresh file, many rounds over, as a deploy does.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectedDialects } from './dialects.js';

const ROUNDS = 25;
const PROCESSES = 4;
/** How long the first test holds the write lock of the file a process is opening. */
const HOLD_MS = 400;

/**
 * A process that, for each file path read on stdin, says `opening`, opens a store on it, waits
 * for `ready()`, saves one session, closes the store, and answers one line: `ok` or the error.
 */
const WORKER = `
  const { SqliteSessionStore } = require('@sessionsql/sqlite');
  const lines = require('node:readline').createInterface({ input: process.stdin });
  lines.on('line', async (file) => {
    let answer = 'ok';
    process.stdout.write('opening\\n');
    try {
      const store = new SqliteSessionStore({ database: file, pruneIntervalMs: false });
      try {
        await store.ready();
        await store.set('p' + process.pid, { cookie: {} });
      } finally {
        await store.close();
      }
    } catch (error) {
      answer = String(error?.message ?? error).split('\\n')[0];
    }
    process.stdout.write(answer + '\\n');
  });
  process.stdout.write('started\\n');`;

/** A worker process and a function that returns its next line of output. */
function startWorker(): { child: ChildProcessWithoutNullStreams; next: () => Promise<string> } {
  const child = spawn(process.execPath, ['-e', WORKER], { cwd: process.cwd() });
  const waiting: ((line: string) => void)[] = [];
  const queued: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    const resolve = waiting.shift();
    if (resolve === undefined) queued.push(line);
    else resolve(line);
  });
  child.once('exit', (code) => {
    for (const resolve of waiting.splice(0)) resolve(`worker exited with code ${code}: ${stderr.trim()}`);
  });
  const next = () =>
    queued.length > 0 ? Promise.resolve(queued.shift()!) : new Promise<string>((resolve) => waiting.push(resolve));
  return { child, next };
}

describe.runIf(selectedDialects().includes('sqlite-file'))('sqlite-file: first start of several processes', () => {
  let dir = '';
  let workers: ReturnType<typeof startWorker>[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sessionsql-first-open-'));
    workers = Array.from({ length: PROCESSES }, startWorker);
    expect(await Promise.all(workers.map((w) => w.next()))).toEqual(Array(PROCESSES).fill('started'));
  });
  afterAll(() => {
    for (const { child } of workers) child.stdin.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a process opening a new file while another one holds its write lock waits for it', async () => {
    const file = join(dir, 'held.sqlite');
    const holder = new Database(file);
    const worker = workers[0]!;
    let answer: Promise<string> | undefined;
    try {
      holder.exec('begin immediate');
      worker.child.stdin.write(`${file}\n`);
      expect(await worker.next()).toBe('opening');
      answer = worker.next();
      // Without the wait the worker has already failed with "database is locked" by now.
      const early = await Promise.race([answer, new Promise((resolve) => setTimeout(resolve, HOLD_MS, 'waiting'))]);
      expect(early).toBe('waiting');
    } finally {
      holder.exec('rollback');
      holder.close();
    }
    expect(await answer).toBe('ok');
  });

  it(`${PROCESSES} processes opening the same new file at once all come up (${ROUNDS} rounds, a new file each)`, async () => {
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const file = join(dir, `round-${round}.sqlite`);
      // Every worker is waiting on stdin, so they all start opening the file together.
      for (const { child } of workers) child.stdin.write(`${file}\n`);
      const answers = await Promise.all(
        workers.map(async (w) => ((await w.next()) === 'opening' ? w.next() : 'no opening line')),
      );
      for (const answer of answers) if (answer !== 'ok') failures.push(`round ${round}: ${answer}`);
      const db = new Database(file);
      try {
        expect(db.pragma('journal_mode', { simple: true }), `round ${round}`).toBe('wal');
        const { n } = db.prepare('select count(*) as n from sessions').get() as { n: number };
        expect(n, `round ${round}: one session per process that came up`).toBe(
          answers.filter((a) => a === 'ok').length,
        );
      } finally {
        db.close();
      }
    }
    expect(failures, `${failures.length} of ${ROUNDS * PROCESSES} starts failed`).toEqual([]);
  });
});
