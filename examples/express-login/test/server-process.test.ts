/**
 * The example as `npm start` runs it (`dist/server.js` in its own process) on SQLite, with no
 * configuration but a data directory: startup messages, refusals, and a restart that keeps
 * everyone signed in.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { selectedDialects } from '../../../test/dialects-env.js';
import { type AppProcess, startAppProcess } from './app-process.js';
import { HttpDevice, headingOf, UA } from './http-device.js';

describe.runIf(selectedDialects().some((d) => d.startsWith('sqlite')))('sqlite: express-login as a process', () => {
  let dataDir = '';
  const nodes: AppProcess[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const node = await startAppProcess({ SESSION_DATA_DIR: dataDir, ...env });
    nodes.push(node);
    return node;
  };

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'sessionsql-server-'));
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop('SIGKILL')));
  });
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('without SESSION_SECRET keeps a development secret, so a restart keeps the session', async () => {
    const first = await start();
    expect(first.output()).toContain('sessions on sqlite (standalone)');
    expect(first.output()).toContain('SESSION_SECRET is not set');
    const secretFile = join(dataDir, 'session-secret');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'sessions.sqlite')).isFile()).toBe(true);

    const laptop = new HttpDevice(first.url, UA.chromeWindows);
    expect(headingOf(await laptop.signIn('alice', 'wonderland'))).toBe('Signed in as Alice Liddell');
    expect(await first.stop('SIGINT')).toBe(0);
    expect(first.output()).toMatch(/SIGINT received[\s\S]*stopped/);

    const second = await start();
    laptop.base = second.url;
    expect(headingOf(await laptop.get('/'))).toBe('Signed in as Alice Liddell');
  });

  it('refuses to start without SESSION_SECRET in production or in a cluster, saying what to set', async () => {
    await expect(start({ NODE_ENV: 'production' })).rejects.toThrow(
      /exited with code 1[\s\S]*set SESSION_SECRET[\s\S]*NODE_ENV=production/,
    );
    await expect(
      start({ SESSION_DEPLOYMENT: 'cluster', SESSION_DB_URL: 'postgres://nobody@127.0.0.1:1/none' }),
    ).rejects.toThrow(/exited with code 1[\s\S]*set SESSION_SECRET[\s\S]*shared by every instance/);
  });

  it('keeps a sign-in lock over a restart (the throttle is in the database)', async () => {
    const first = await start({ SESSION_SECRET: 'process test secret' });
    const attacker = new HttpDevice(first.url, UA.firefoxLinux);
    for (let i = 0; i < 10; i++) expect((await attacker.signIn('bob', `guess-${i}`)).status).toBe(401);
    expect((await attacker.signIn('bob', 'canwefixit')).status).toBe(429);
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await start({ SESSION_SECRET: 'process test secret' });
    attacker.base = second.url;
    expect((await attacker.signIn('bob', 'canwefixit')).status).toBe(429);
  });

  it('refuses to start in production without TRUST_PROXY: its Secure cookie needs HTTPS', async () => {
    await expect(start({ NODE_ENV: 'production', SESSION_SECRET: 'a production secret' })).rejects.toThrow(
      /exited with code 1[\s\S]*NODE_ENV=production[\s\S]*HTTPS[\s\S]*TRUST_PROXY/,
    );
  });

  it('refuses a bad PORT with the accepted range', async () => {
    await expect(start({ PORT: 'eighty' })).rejects.toThrow(
      /exited with code 1[\s\S]*PORT must be a whole number from 0 to 65535 \(got "eighty"\)/,
    );
  });
});
