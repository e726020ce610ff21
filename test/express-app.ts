/** A small express app using `store`, on a random port: sign-in, read, sign-out over real HTTP. */
import type { AddressInfo } from 'node:net';
import { type SqlSessionStore, sessionKey } from '@sessionsql/core';
import express from 'express';
import session from 'express-session';
import { expect } from 'vitest';

declare module 'express-session' {
  interface SessionData {
    user?: { id: string; name: string };
  }
}

const SECRET = 'test secret';

export async function startApp(store: SqlSessionStore) {
  const app = express();
  app.use(express.urlencoded({ extended: false }));
  app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 } }));
  app.post('/login', (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = { id: String(req.body.user), name: `User ${req.body.user}` };
      req.session.save((saveErr) => (saveErr ? next(saveErr) : res.json({ ok: true })));
    });
  });
  app.get('/me', (req, res) => {
    res.json({ user: req.session.user ?? null });
  });
  app.get('/visit', (req, res) => {
    const s = req.session as unknown as { visits?: number };
    s.visits = (s.visits ?? 0) + 1;
    res.json({ visits: s.visits });
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err);
      res.clearCookie('connect.sid').json({ ok: true });
    });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** The session id inside a signed `connect.sid=s:<id>.<signature>` cookie. */
export function sidOf(cookie: string | undefined): string {
  const match = /connect\.sid=s%3A([^.;]+)\./.exec(cookie ?? '');
  if (!match) throw new Error(`no session cookie in ${cookie}`);
  return decodeURIComponent(match[1]!);
}

/** Visits anonymously, signs in (the id must change), reads, signs out; checks the store at each step. */
export async function signInFlow(store: SqlSessionStore): Promise<void> {
  const app = await startApp(store);
  try {
    const visit = await fetch(`${app.base}/visit`);
    const anonymousCookie = visit.headers.get('set-cookie') ?? undefined;
    const anonymousSid = sidOf(anonymousCookie);
    expect(await store.get(anonymousSid)).toMatchObject({ visits: 1 });

    const login = await fetch(`${app.base}/login`, {
      method: 'POST',
      headers: { cookie: anonymousCookie!.split(';')[0]!, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'user=alice',
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const sid = sidOf(cookie);
    expect(sid).not.toBe(anonymousSid);
    expect(await store.get(anonymousSid)).toBeNull();
    expect(await store.get(sid)).toMatchObject({ user: { id: 'alice' } });
    expect(await store.listSessionHandlesForUser('alice')).toEqual([sid].map(sessionKey));

    const me = await fetch(`${app.base}/me`, { headers: { cookie } });
    expect(await me.json()).toEqual({ user: { id: 'alice', name: 'User alice' } });

    const logout = await fetch(`${app.base}/logout`, { method: 'POST', headers: { cookie } });
    expect(logout.status).toBe(200);
    expect(await store.get(sid)).toBeNull();
    const after = await fetch(`${app.base}/me`, { headers: { cookie } });
    expect(await after.json()).toEqual({ user: null });
    expect(await store.countSessionsForUser('alice')).toBe(0);
  } finally {
    await app.close();
  }
}
