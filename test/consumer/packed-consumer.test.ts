/**
 * The published packages as a user gets them: `npm pack` tarballs installed into a project
 * outside the monorepo, a Koa app on PostgreSQL with neither express-session nor
 * better-sqlite3 installed, served over real HTTP; its TypeScript compiled against the
 * published types with skipLibCheck off.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { selectedDialects } from '../dialects.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixture', import.meta.url));
/** Every published package (each folder of packages/). */
const PACKAGES = readdirSync(join(root, 'packages'));
const rootRequire = createRequire(join(root, 'package.json'));
/** The versions the monorepo tests with, so that npm finds them in its cache. */
const version = (name: string) => (rootRequire(`${name}/package.json`) as { version: string }).version;

describe.runIf(selectedDialects().includes('postgres'))('packed packages in a consumer project', () => {
  let dir = '';
  let tarballs: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sessionsql-consumer-'));
    const packed = await run(
      'npm',
      ['pack', '--json', '--pack-destination', dir, ...PACKAGES.map((p) => `-w=packages/${p}`)],
      {
        cwd: root,
      },
    );
    tarballs = Object.fromEntries(
      (JSON.parse(packed.stdout) as { name: string; filename: string }[]).map((p) => [p.name, `file:./${p.filename}`]),
    );
    for (const name of Object.keys(tarballs)) tarballs[name] = tarballs[name]!.replace('file:./', 'file:../');
    // The dialect packages are not on the registry: sessionsql's dependencies on them are the tarballs.
    const overrides = Object.fromEntries(Object.keys(tarballs).map((name) => [name, `$${name}`]));
    const consumers = {
      // Koa on PostgreSQL, as a TypeScript user installs it from the README.
      app: {
        dependencies: { ...tarballs, koa: version('koa'), 'koa-session': version('koa-session'), pg: version('pg') },
        devDependencies: {
          '@types/koa': version('@types/koa'),
          '@types/pg': version('@types/pg'),
          '@types/node': version('@types/node'),
        },
      },
      // Only the types of a SQLite app (the driver itself is not needed to compile).
      'app-sqlite': {
        dependencies: { ...tarballs },
        devDependencies: {
          '@types/better-sqlite3': version('@types/better-sqlite3'),
          '@types/node': version('@types/node'),
        },
      },
    };
    await Promise.all(
      Object.entries(consumers).map(async ([name, deps]) => {
        const app = join(dir, name);
        cpSync(fixture, app, { recursive: true });
        writeFileSync(
          join(app, 'package.json'),
          JSON.stringify({ name: `sessionsql-${name}`, private: true, type: 'module', ...deps, overrides }),
        );
        await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
          cwd: app,
          env: { ...process.env, npm_config_workspaces: undefined },
        });
      }),
    );
  }, 240_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('publishes README, LICENSE, JavaScript and types only', async () => {
    for (const name of PACKAGES) {
      const { stdout } = await run('npm', ['pack', '--dry-run', '--json', `-w=packages/${name}`], { cwd: root });
      const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
      expect(files, name).toContain('README.md');
      expect(files, name).toContain('LICENSE');
      expect(files, name).toContain('dist/index.d.ts');
      const others = files.filter(
        (f) =>
          !['README.md', 'LICENSE', 'package.json'].includes(f) &&
          !/^dist\/.*\.(js|d\.ts)$/.test(f) &&
          !(name === 'sessionsql' && f === 'bin/sessionsql.js'),
      );
      expect(others, name).toEqual([]);
    }
  });

  it('installs for Koa on PostgreSQL without express-session or better-sqlite3', () => {
    const modules = join(dir, 'app', 'node_modules');
    expect(existsSync(join(modules, 'sessionsql', 'package.json'))).toBe(true);
    expect(existsSync(join(modules, 'pg', 'package.json'))).toBe(true);
    expect(existsSync(join(modules, 'express-session'))).toBe(false);
    expect(existsSync(join(modules, 'better-sqlite3'))).toBe(false);
  });

  it('serves a Koa session over HTTP, stored in PostgreSQL', async () => {
    const url = inject('postgresUrl');
    const schema = `consumer_${process.pid}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const child = spawn(process.execPath, ['koa-app.mjs'], {
      cwd: join(dir, 'app'),
      env: { ...process.env, SESSION_DB_URL: `${url}${url.includes('?') ? '&' : '?'}schema=${schema}` },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const line = await Promise.race([
        new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve)),
        exited.then((code) => Promise.reject(new Error(`the consumer app exited with code ${code} before serving`))),
      ]);
      const base = `http://127.0.0.1:${/port (\d+)/.exec(line)![1]}`;
      const signIn = await fetch(`${base}/sign-in`, { method: 'POST' });
      expect(signIn.status).toBe(200);
      const cookie = signIn.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      expect(cookie).toMatch(/sid=/);
      const me = await fetch(`${base}/me`, { headers: { cookie } });
      expect(await me.json()).toEqual({ user: 'consumer-user', devices: 1 });
      const rows = await admin.query(`select user_id from "${schema}".consumer_sessions`);
      expect(rows.rows).toEqual([{ user_id: 'consumer-user' }]);
      expect(await (await fetch(`${base}/me`)).json()).toEqual({ user: null, devices: 0 });
    } finally {
      child.stdin!.end();
      await exited;
      await admin.query(`drop schema if exists "${schema}" cascade`);
      await admin.end();
    }
  });

  it('loads without the optional peers, and says which to install when one is needed', async () => {
    const { stdout } = await run(process.execPath, ['without-peers.cjs'], { cwd: join(dir, 'app') });
    const out = JSON.parse(stdout) as Record<string, string>;
    expect(out.errorClass).toBe('function');
    expect(out.recordStore).toBe('function');
    expect(out.express).toMatch(/express-session is not installed; install it with `npm install express-session`/);
    expect(out.sqlite).toMatch(/needs the "better-sqlite3" driver; install it with `npm install better-sqlite3`/);
  });

  it.each([
    ['Koa on PostgreSQL', 'app', 'tsconfig.json'],
    ['SQLite without pg or its types', 'app-sqlite', 'tsconfig.sqlite.json'],
  ])('compiles a TypeScript consumer against the published types (skipLibCheck off): %s', async (_, app, tsconfig) => {
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    await run(tsc, ['-p', tsconfig], { cwd: join(dir, app) }).catch((error: { stdout?: string }) => {
      throw new Error(`tsc found errors in the consumer:\n${error.stdout ?? String(error)}`);
    });
  });
});
