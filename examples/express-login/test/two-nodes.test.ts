/**
 * Two processes of the example app on two ports, one PostgreSQL: a session made on one node
 * works on the other, signing out on one is seen by the other, and a restart keeps sessions.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { selectedDialects } from '../../../test/dialects-env.js';
import { type AppProcess, startAppProcess } from './app-process.js';
import { HttpDevice, headingOf, UA } from './http-device.js';

describe.runIf(selectedDialects().includes('postgres'))('postgres: express-login as two nodes', () => {
  const schema = `test_cluster_${process.pid}_${Date.now().toString(36)}`;
  let env: Record<string, string>;
  const nodes: AppProcess[] = [];
  const start = async () => {
    const node = await startAppProcess(env);
    nodes.push(node);
    return node;
  };

  beforeAll(() => {
    env = {
      SESSION_DB_URL: `${inject('postgresUrl')}?schema=${schema}`,
      SESSION_DEPLOYMENT: 'cluster',
      SESSION_SECRET: 'shared by every node of the cluster',
    };
  });

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop('SIGKILL')));
  });

  afterAll(async () => {
    const admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  });

  it('shares sessions between nodes, signs out across them, and keeps sessions over a restart', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    expect(a!.output()).toContain('sessions on postgres (cluster)');
    expect(a!.url).not.toBe(b!.url);

    const laptop = new HttpDevice(a!.url, UA.chromeWindows);
    const phone = new HttpDevice(b!.url, UA.safariIphone);
    expect(headingOf(await laptop.signIn('alice', 'wonderland'))).toBe('Signed in as Alice Liddell');

    // The laptop's session, made on node A, works on node B.
    laptop.base = b!.url;
    expect(headingOf(await laptop.get('/'))).toBe('Signed in as Alice Liddell');
    laptop.base = a!.url;

    // The phone signs in on B and signs out every other device there; the laptop, on A, is out.
    await phone.signIn('alice', 'wonderland');
    const devices = await phone.get('/devices');
    expect(devices.html).toContain('Safari 18 on iOS');
    expect(devices.html).toContain('Chrome 131 on Windows');
    expect((await phone.submit(devices, '/devices/sign-out-others')).html).toContain('Signed out 1 device.');
    expect((await laptop.get('/')).path).toBe('/sign-in');

    // Sign the laptop in again on A, then restart A: both sessions survive, on either node.
    await laptop.signIn('alice', 'wonderland');
    const bob = new HttpDevice(a!.url, UA.firefoxLinux);
    await bob.signIn('bob', 'canwefixit');
    expect(await a!.stop('SIGTERM')).toBe(0);
    expect(a!.output()).toMatch(/SIGTERM received[\s\S]*stopped/);

    const restarted = await start();
    laptop.base = restarted.url;
    bob.base = restarted.url;
    expect(headingOf(await laptop.get('/'))).toBe('Signed in as Alice Liddell');
    expect(headingOf(await bob.get('/'))).toBe('Signed in as Bob Builder');
    expect(headingOf(await phone.get('/'))).toBe('Signed in as Alice Liddell');
    expect((await phone.get('/')).html).toContain('You are signed in on <a href="/devices">2 devices</a>');
  });

  it('shares the sign-in throttle: failures on either node lock the account on both', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const attacker = new HttpDevice(a!.url, UA.firefoxLinux);
    for (let i = 0; i < 10; i++) {
      attacker.base = i % 2 === 0 ? a!.url : b!.url;
      expect((await attacker.signIn('alice', `guess-${i}`)).status).toBe(401);
    }
    for (const node of [a!, b!]) {
      attacker.base = node.url;
      const page = await attacker.signIn('alice', 'wonderland');
      expect(page.status).toBe(429);
      expect(Number(page.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
      expect(page.html).toContain('Too many failed sign-ins for this account.');
    }
    // Bob, from the same client, is not locked.
    expect(headingOf(await attacker.signIn('bob', 'canwefixit'))).toBe('Signed in as Bob Builder');
  });

  it('refuses to start in cluster mode without PostgreSQL, saying what to set', async () => {
    await expect(startAppProcess({ SESSION_DEPLOYMENT: 'cluster', SESSION_SECRET: 'x' })).rejects.toThrow(
      /exited with code 1[\s\S]*SESSION_DEPLOYMENT=cluster needs PostgreSQL[\s\S]*SESSION_DB_URL=postgres:\/\//,
    );
  });
});
