/**
 * The example app in a real Chromium (Debian's, driven by playwright-core): two browser
 * contexts are two devices of one user. Run with `npm run test:browser`.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppProcess, startAppProcess } from '../app-process.js';
import { launchChromium } from './chromium.js';

/** Screenshots land here (gitignored); CI keeps them as test artifacts. */
export const ARTIFACTS = fileURLToPath(new URL('../../../../test-results/express-login/', import.meta.url));

describe('express-login in Chromium: two devices of one user', () => {
  let dataDir = '';
  let app: AppProcess;
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
    dataDir = mkdtempSync(join(tmpdir(), 'sessionsql-browser-'));
    app = await startAppProcess({ SESSION_DATA_DIR: dataDir, SESSION_SECRET: 'browser test secret' });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function signIn(page: Page, username: string, password: string): Promise<void> {
    await page.goto(`${app.url}/`);
    await expect.poll(() => new URL(page.url()).pathname).toBe('/sign-in');
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  /**
   * `page.goBack()`, again when Chromium answers that the page is between frames ("Not
   * attached to an active page", seen once in CI): that error comes from reading the history,
   * before any navigation starts, so trying again cannot go back twice.
   */
  async function goBack(page: Page): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await page.goBack();
        return;
      } catch (error) {
        if (attempt === 3 || !String(error).includes('Not attached to an active page')) throw error;
        await page.waitForLoadState('load');
      }
    }
  }

  it('signs in on two devices, signs the other out, signs out, and back shows no signed-in page', async () => {
    const laptop = await (await browser.newContext()).newPage();
    const phone = await (
      await browser.newContext({
        userAgent:
          'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
        viewport: { width: 390, height: 844 },
      })
    ).newPage();

    // A wrong password shows the form again with an error.
    await signIn(phone, 'alice', 'guess');
    await expect.poll(() => phone.getByRole('alert').textContent()).toBe('That username and password do not match.');
    expect((await phone.context().cookies()).map((c) => c.name)).not.toContain('sid');

    await signIn(laptop, 'alice', 'wonderland');
    await expect.poll(() => laptop.locator('h1').textContent()).toBe('Signed in as Alice Liddell');
    const cookie = (await laptop.context().cookies()).find((c) => c.name === 'sid');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    // HttpOnly: page scripts cannot read the session cookie.
    expect(await laptop.evaluate('document.cookie')).toBe('');

    await signIn(phone, 'alice', 'wonderland');
    await expect.poll(() => phone.locator('h1').textContent()).toBe('Signed in as Alice Liddell');

    // The laptop sees two devices, itself marked, and the phone by its browser.
    await laptop.getByRole('link', { name: 'Your devices' }).click();
    await expect.poll(() => laptop.locator('tbody tr').count()).toBe(2);
    const current = laptop.locator('tr[data-current="true"]');
    await expect.poll(() => current.textContent()).toContain('this device');
    const other = laptop.locator('tbody tr:not([data-current])');
    await expect.poll(() => other.textContent()).toContain('Safari 18 on iOS');
    const screenshot = join(ARTIFACTS, 'devices.png');
    await laptop.screenshot({ path: screenshot, fullPage: true });
    expect(existsSync(screenshot)).toBe(true);

    // Sign the phone out from the laptop; on reload the phone is back at the sign-in page.
    await other.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => laptop.getByRole('status').textContent()).toBe('Signed out 1 device.');
    await expect.poll(() => laptop.locator('tbody tr').count()).toBe(1);
    await phone.reload();
    await expect.poll(() => new URL(phone.url()).pathname).toBe('/sign-in');
    await expect.poll(() => phone.locator('h1').textContent()).toBe('Sign in');

    // Sign out on the laptop; the back button must not show a signed-in page again.
    await laptop.locator('header').getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => new URL(laptop.url()).pathname).toBe('/sign-in');
    // The URL changes when the redirect commits; going back before the page has loaded can
    // reach Chromium while it swaps the page's frame (see goBack below).
    await laptop.waitForLoadState('load');
    expect((await laptop.context().cookies()).map((c) => c.name)).not.toContain('sid');
    for (let i = 0; i < 3; i++) {
      await goBack(laptop);
      expect(await laptop.locator('h1').textContent()).toBe('Sign in');
      expect(await laptop.content()).not.toContain('Alice Liddell');
    }
  });
});
