/**
 * Runs the built `sessionsql` command as a user does, through npm's bin link
 * (`node_modules/.bin/sessionsql`), and gives each test file its own SQLite directory and
 * PostgreSQL schema.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { openRecordStore, type SessionRecordStore } from 'sessionsql';
import { afterAll, inject } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
/** The bin link npm makes for the workspace's `sessionsql` package. */
export const BIN = join(ROOT, 'node_modules/.bin/sessionsql');

/** Fails clearly when npm has not linked the command (run `npm install`). */
export function ensureBinLink(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm install\` at the repository root to link it.`);
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `sessionsql ...args` to completion. */
export function run(args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) {
  ensureBinLink();
  return new Promise<RunResult>((done) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1', SESSION_DB_URL: '', SESSIONSQL_PROGRESS_MS: '50', ...options.env },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        done({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin!.end(options.input);
    else child.stdin!.end();
  });
}

/** A temp directory for this file's SQLite databases, removed afterwards. */
export function sqliteDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sessionsql-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let n = 0;
/** A fresh PostgreSQL schema's URL for this file (dropped afterwards). */
export function postgresUrl(name: string): string {
  const base = inject('postgresUrl');
  const schema = `cli_${name}_${process.pid}_${n++}`;
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  afterAll(async () => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  });
  return url.toString();
}

/** Opens a store on `url` in this process, to set up and inspect rows; close it after. */
export function store(url: string, tableName = 'sessions'): SessionRecordStore {
  return openRecordStore({ url, tableName, pruneIntervalMs: false });
}

/** Writes `count` sessions (`${prefix}${i}`, user `user${i % users}`) expiring at `expiresAt`. */
export async function seed(url: string, count: number, expiresAt: number, prefix = 's', users = 3): Promise<void> {
  const s = store(url);
  try {
    for (let i = 0; i < count; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({
        id: `${prefix}${i + j}`,
        data: { userId: `user${(i + j) % users}`, n: i + j },
        expiresAt,
      }));
      await s.table.importSessions(batch);
    }
  } finally {
    await s.close();
  }
}

/** Starts `sessionsql ...args` and returns the child (to signal) and its result. */
export function start(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  ensureBinLink();
  let child: ReturnType<typeof execFile> | undefined;
  const result = new Promise<RunResult>((done) => {
    child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        done({ code, stdout, stderr });
      },
    );
  });
  return { child: child!, result };
}
