/**
 * Hono 4 + @hono/session with `HonoSessionStorage`. @hono/session has no regenerate: sign-in
 * hides the old cookie from `update()` (its `getCookie` option), which then starts a session
 * with a new id, and deletes the old one.
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { type SessionEnv, useSession, useSessionStorage } from '@hono/session';
import { Hono } from 'hono';
import { getCookie } from 'hono/cookie';
import { HonoSessionStorage } from 'sessionsql/hono';
import { closeServer, type Framework, listening, type User, userNamed } from '../framework.js';

type Data = { user?: User; seenAt?: number };
type Env = SessionEnv<Data> & { Variables: { freshSession?: boolean } };

/**
 * The cookie's lifetime (`duration.absolute`): whole seconds, counted from the start of a
 * second, so one more than the session's lifetime; the session ends with its row, `ttlMs`.
 */
const absoluteSeconds = (maxAgeMs: number) => Math.ceil(maxAgeMs / 1000) + 1;

export const honoSessionFramework: Framework = {
  name: '@hono/session',
  regenerates: true,
  // @hono/session passes the store no expiry: rows expire `ttlMs` after their last write.
  recordOptions: (maxAgeMs) => ({ ttlMs: maxAgeMs }),
  async start(records, { maxAgeMs, gate }) {
    const storage = new HonoSessionStorage<Data>(records);
    const app = new Hono<Env>();
    app.use(
      useSessionStorage<Data, Env>(storage),
      useSession<Data>({
        secret: 'f'.repeat(64),
        duration: { absolute: absoluteSeconds(maxAgeMs) },
        getCookie: (c, name) => (c.get('freshSession') ? undefined : getCookie(c, name)),
      }),
    );
    app.post('/sign-in', async (c) => {
      const session = c.var.session;
      const previous = (await session.get()) ? session.id : null;
      c.set('freshSession', true);
      await session.update({ user: userNamed(c.req.query('user') ?? '') });
      if (previous) storage.delete(previous);
      return c.json({ ok: true });
    });
    app.get('/me', async (c) => {
      const user = (await c.var.session.get())?.user ?? null;
      return c.json({ user, sid: user ? c.var.session.id : null });
    });
    app.get('/slow', async (c) => {
      const session = c.var.session;
      const user = (await session.get())?.user ?? null;
      const sid = user ? session.id : null;
      // A change: @hono/session saves a session at the end of the request only when it changed.
      if (user) await session.update((data) => ({ ...data, seenAt: Date.now() }));
      await gate.pass();
      return c.json({ user, sid });
    });
    app.post('/sign-out-others', async (c) => {
      const user = (await c.var.session.get())?.user;
      if (!user) return c.json({ error: 'not signed in' }, 401);
      const except = c.var.session.id ?? undefined;
      return c.json({ cleared: await records.clearSessionsForUser(user.id, { except }) });
    });
    app.post('/sign-out', async (c) => {
      await c.var.session.get();
      c.var.session.delete();
      return c.json({ ok: true });
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    return { base: await listening(server), flush: () => storage.flush(), close: () => closeServer(server) };
  },
};
