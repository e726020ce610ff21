/**
 * Login CSRF in a real Chromium: a page of another site auto-submits a sign-in form with the
 * attacker's credentials to the app. The app (on `localhost`) must refuse the post, so that the
 * victim's browser is neither signed in as the attacker nor switched from her own account.
 * The attacker's page is served from `127.0.0.1` (another site: Chromium sends
 * `Sec-Fetch-Site: cross-site`) and from another port of `localhost` (same site, another
 * origin: `same-site`). Run with `npm run test:browser`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppProcess, startAppProcess } from '../app-process.js';
import { launchChromium } from './chromium.js';

/** The attacker's own account, from the demo accounts listed on the sign-in page. */
const ATTACKER = { username: 'bob', password: 'canwefixit' } as const;

describe('express-login in Chromium: login CSRF from another origin is refused', () => {
  let dataDir = '';
  let app: AppProcess;
  let browser: Browser;
  let attacker: Server;
  /** Where the attacker's page is served, and the `Sec-Fetch-Site` Chromium sends from there. */
  let attackerOrigins: { origin: string; secFetchSite: string }[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    dataDir = mkdtempSync(join(tmpdir(), 'sessionsql-browser-csrf-'));
    app = await startAppProcess({ SESSION_DATA_DIR: dataDir, SESSION_SECRET: 'browser csrf test secret' });
    expect(new URL(app.url).hostname).toBe('localhost');
    // The attacker's site: a page that posts its sign-in form to the app as soon as it loads.
    const forgedPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>You won a prize</title></head>
<body>
<form method="post" action="${app.url}/sign-in">
  <input type="hidden" name="username" value="${ATTACKER.username}">
  <input type="hidden" name="password" value="${ATTACKER.password}">
</form>
<script>document.forms[0].submit();</script>
</body></html>`;
    attacker = createServer((req, res) => {
      if (req.url !== '/') return void res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(forgedPage);
    });
    // Every interface, like the app: `localhost` may resolve to ::1 as well as 127.0.0.1.
    await new Promise<void>((resolve, reject) => attacker.once('error', reject).listen(0, () => resolve()));
    const { port } = attacker.address() as AddressInfo;
    expect(String(port)).not.toBe(new URL(app.url).port);
    attackerOrigins = [
      { origin: `http://127.0.0.1:${port}`, secFetchSite: 'cross-site' },
      { origin: `http://localhost:${port}`, secFetchSite: 'same-site' },
    ];
  });

  afterAll(async () => {
    await browser?.close();
    if (attacker) {
      attacker.closeAllConnections();
      await new Promise((resolve) => attacker.close(resolve));
    }
    await app?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * Opens the attacker's page and waits until its forged sign-in post was answered and the
   * browser shows the answer. Resolves the post's status and the `Sec-Fetch-Site` it was sent with.
   */
  async function visitAttacker(page: Page, origin: string): Promise<{ status: number; secFetchSite: string }> {
    const posted = page.waitForResponse((r) => r.url() === `${app.url}/sign-in` && r.request().method() === 'POST', {
      timeout: 10_000,
    });
    await page.goto(`${origin}/`);
    const response = await posted;
    await page.waitForLoadState('load');
    const headers = await response.request().allHeaders();
    return { status: response.status(), secFetchSite: headers['sec-fetch-site'] ?? '(none)' };
  }

  /** The app's home page in this browser: the heading, or 'Sign in' when it sends the browser there. */
  async function homeHeading(page: Page): Promise<string | null> {
    await page.goto(`${app.url}/`);
    return page.locator('h1').textContent();
  }

  /** Signs in through the app's own form (a same-origin post); resolves the `Sec-Fetch-Site` it was sent with. */
  async function signIn(page: Page, username: string, password: string): Promise<string> {
    await page.goto(`${app.url}/sign-in`);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    const posted = page.waitForRequest((r) => r.url() === `${app.url}/sign-in` && r.method() === 'POST');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const headers = await (await posted).allHeaders();
    await page.waitForLoadState('load');
    return headers['sec-fetch-site'] ?? '(none)';
  }

  const sessionCookie = async (page: Page) => (await page.context().cookies(app.url)).find((c) => c.name === 'sid');

  it('a browser with no session is not signed in as the attacker; its own sign-in still works', async () => {
    const context = await browser.newContext();
    const victim = await context.newPage();
    for (const { origin, secFetchSite } of attackerOrigins) {
      const forged = await visitAttacker(victim, origin);
      // What the victim sees: the refusal, not a home page signed in as the attacker.
      expect(await victim.locator('h1').textContent(), `forged post from ${origin}`).toBe('Forbidden');
      expect(await victim.content()).toContain('did not come from this site');
      expect(await sessionCookie(victim), `no session cookie after the post from ${origin}`).toBeUndefined();
      expect(await homeHeading(victim)).toBe('Sign in');
      expect(new URL(victim.url()).pathname).toBe('/sign-in');
      expect(forged).toEqual({ status: 403, secFetchSite });
    }

    // The app's own form, in the same browser, still signs in: the check is not too strict.
    expect(await signIn(victim, 'alice', 'wonderland')).toBe('same-origin');
    expect(await victim.locator('h1').textContent()).toBe('Signed in as Alice Liddell');
    expect(await sessionCookie(victim)).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    await context.close();
  });

  it('a browser signed in as alice stays alice, with the same session, after the forged post', async () => {
    const context = await browser.newContext();
    const victim = await context.newPage();
    expect(await signIn(victim, 'alice', 'wonderland')).toBe('same-origin');
    expect(await victim.locator('h1').textContent()).toBe('Signed in as Alice Liddell');
    const before = await sessionCookie(victim);
    expect(before).toBeDefined();

    for (const { origin, secFetchSite } of attackerOrigins) {
      const forged = await visitAttacker(victim, origin);
      expect(await victim.locator('h1').textContent(), `forged post from ${origin}`).toBe('Forbidden');
      expect(await homeHeading(victim), `home page after the post from ${origin}`).toBe('Signed in as Alice Liddell');
      expect((await sessionCookie(victim))?.value, `session cookie after the post from ${origin}`).toBe(before!.value);
      expect(forged).toEqual({ status: 403, secFetchSite });
    }

    // Her own pages still work: the devices page marks this session as this device.
    await victim.getByRole('link', { name: 'Your devices' }).click();
    await expect.poll(() => victim.locator('tr[data-current="true"]').textContent()).toContain('this device');
    await context.close();
  });
});
