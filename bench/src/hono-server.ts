/**
 * The Hono end-to-end app: hono 4 + hono-sessions 0.8 (the server-side session middleware
 * with Hono's users) with `autoExtendExpiration`, its default, so every response saves the
 * session, which `touchAfterMs` lets sessionsql skip. POST /login signs a new visitor in and
 * GET /me reads the session, as in the other apps (no id rotation: each login here starts
 * without a cookie, and hono-sessions answers a rotation with two `sid` cookies). The in-memory row is hono-sessions' own MemoryStore; the
 * others use sessionsql's `HonoSessionsStore`. Started by http-bench.ts as
 * `node hono-server.js <memory|sessionsql-sqlite|sessionsql-pg> <touchAfterMs or 0>` (see
 * http-app.ts).
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { MemoryStore, type Session, sessionMiddleware } from 'hono-sessions';
import { HonoSessionsStore } from 'sessionsql/hono';
import { DAY_MS } from './bench-env.js';
import { announce, openFrameworkStore, signedInData } from './http-app.js';

type Variables = { session: Session<Record<string, unknown>> };

const app = new Hono<{ Variables: Variables }>();
app.use(
  '*',
  sessionMiddleware({
    store: await openFrameworkStore<MemoryStore | HonoSessionsStore>(
      'hono',
      () => new MemoryStore(),
      (records) => new HonoSessionsStore(records),
    ),
    encryptionKey: 'the sessionsql bench key, 32 characters or more',
    expireAfterSeconds: DAY_MS / 1000,
    sessionCookieName: 'sid',
    cookieOptions: { path: '/', httpOnly: true, sameSite: 'Lax' },
  }),
);
app.post('/login', (c) => {
  const session = c.get('session');
  for (const [key, value] of Object.entries(signedInData())) session.set(key, value);
  return c.json({ ok: true });
});
app.get('/me', (c) => c.json({ userId: (c.get('session').get('userId') as string | undefined) ?? null }));

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => announce(server.address())) as Server;
