/**
 * Hono 4 + hono-sessions with `HonoSessionsStore` (`autoExtendExpiration`, its default: a save
 * on every request); sign-in rotates the id with `session_key_rotation`.
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { type Session, sessionMiddleware } from 'hono-sessions';
import { HonoSessionsStore, honoSessionsUserId } from 'sessionsql/hono';
import { closeServer, type Framework, listening, type User, userNamed } from '../framework.js';

type Variables = { session: Session<{ user: User }>; session_key_rotation: boolean };

export const honoSessionsFramework: Framework = {
  name: 'hono-sessions',
  regenerates: true,
  recordOptions: () => ({ getUserId: honoSessionsUserId }),
  async start(records, { maxAgeMs, gate }) {
    const app = new Hono<{ Variables: Variables }>();
    app.use(
      '*',
      sessionMiddleware({
        store: new HonoSessionsStore(records),
        encryptionKey: 'a hono-sessions test key of 32+ characters',
        expireAfterSeconds: maxAgeMs / 1000,
        sessionCookieName: 'sid',
        cookieOptions: { path: '/', httpOnly: true, sameSite: 'Lax' },
      }),
    );
    app.post('/sign-in', (c) => {
      c.get('session').set('user', userNamed(c.req.query('user') ?? ''));
      c.set('session_key_rotation', true);
      return c.json({ ok: true });
    });
    app.get('/me', (c) => {
      const session = c.get('session');
      const user = session.get('user');
      return c.json({ user, sid: user ? session.getCache()._id : null });
    });
    app.get('/slow', async (c) => {
      const session = c.get('session');
      const user = session.get('user');
      await gate.pass();
      return c.json({ user, sid: user ? session.getCache()._id : null });
    });
    app.post('/sign-out-others', async (c) => {
      const session = c.get('session');
      const user = session.get('user');
      if (!user) return c.json({ error: 'not signed in' }, 401);
      return c.json({ cleared: await records.clearSessionsForUser(user.id, { except: session.getCache()._id }) });
    });
    app.post('/sign-out', (c) => {
      c.get('session').deleteSession();
      return c.json({ ok: true });
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    return { base: await listening(server), flush: async () => undefined, close: () => closeServer(server) };
  },
};
