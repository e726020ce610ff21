/**
 * The Koa end-to-end app: koa 3 + koa-session 7 with an external store and `rolling: true`
 * (every response saves the session, as express-session's touch and @fastify/session's
 * default do, which `touchAfterMs` lets sessionsql skip; koa-session's own default, `rolling:
 * false`, writes a read session never), POST /login and GET /me as in the express app.
 * POST /login regenerates (a destroy and a save) and the response saves again. koa-session
 * ships no server-side store (without one it keeps the whole session in a signed cookie), so
 * its in-memory row is the smallest external store: a Map of the session objects, nothing
 * serialized. The other rows use sessionsql's `KoaSessionStore`. Started by http-bench.ts as
 * `node koa-server.js <memory|sessionsql-sqlite|sessionsql-pg> <touchAfterMs or 0>` (see
 * http-app.ts).
 */
import Koa from 'koa';
import session, { type CreateSessionOptions } from 'koa-session';
import { KoaSessionStore } from 'sessionsql/koa';
import { DAY_MS } from './bench-env.js';
import { announce, openFrameworkStore, signedInData } from './http-app.js';

/** koa-session's external store API, as its options type it. */
type KoaStore = NonNullable<CreateSessionOptions['store']>;

function memoryStore(): KoaStore {
  const sessions = new Map<string, unknown>();
  return {
    get: async (key) => sessions.get(key),
    set: async (key, sess) => void sessions.set(key, sess),
    destroy: async (key) => void sessions.delete(key),
  };
}

const app = new Koa();
app.keys = ['sessionsql bench'];
app.use(
  session(
    {
      store: await openFrameworkStore<KoaStore>('koa', memoryStore, (records) => new KoaSessionStore(records)),
      maxAge: DAY_MS,
      rolling: true,
      httpOnly: true,
      sameSite: 'lax',
    },
    app,
  ),
);
app.use(async (ctx) => {
  if (ctx.method === 'POST' && ctx.path === '/login') {
    await ctx.session!.regenerate();
    Object.assign(ctx.session!, signedInData());
    ctx.body = { ok: true };
  } else if (ctx.method === 'GET' && ctx.path === '/me') {
    ctx.body = { userId: (ctx.session as { userId?: string } | null)?.userId ?? null };
  } else {
    ctx.status = 404;
  }
});

const server = app.listen(0, '127.0.0.1', () => announce(server.address()));
