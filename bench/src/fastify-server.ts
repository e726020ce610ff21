/**
 * The Fastify end-to-end app: fastify 5 + @fastify/cookie + @fastify/session with the
 * plugin's defaults, among them `rolling: true` (every response saves the session, which
 * `touchAfterMs` lets sessionsql skip), except `saveUninitialized: false` and a cookie that is
 * not `secure` (the benchmark speaks plain HTTP); POST /login and GET /me as in the express
 * app. POST /login regenerates (a destroy and a save) and the response saves again. The store
 * is @fastify/session's own MemoryStore (a Map of the session objects themselves, nothing
 * serialized) or sessionsql's `FastifySessionStore`. Started by http-bench.ts as
 * `node fastify-server.js <memory|sessionsql-sqlite|sessionsql-pg> <touchAfterMs or 0>`
 * (see http-app.ts).
 */
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { FastifySessionStore } from 'sessionsql/fastify';
import { DAY_MS } from './bench-env.js';
import { announce, openFrameworkStore, signedInData } from './http-app.js';

const app = Fastify({ logger: false });
await app.register(fastifyCookie);
await app.register(fastifySession, {
  store: await openFrameworkStore<fastifySession.SessionStore>(
    'fastify',
    () => new fastifySession.MemoryStore(),
    (records) => new FastifySessionStore(records),
  ),
  secret: 'sessionsql bench, a secret of 32 characters or more',
  saveUninitialized: false,
  cookie: { maxAge: DAY_MS, httpOnly: true, sameSite: 'lax', secure: false },
});
app.post('/login', async (request) => {
  await request.session.regenerate();
  Object.assign(request.session, signedInData());
  return { ok: true };
});
app.get('/me', async (request) => {
  return { userId: (request.session as { userId?: string }).userId ?? null };
});

await app.listen({ port: 0, host: '127.0.0.1' });
announce(app.server.address());
