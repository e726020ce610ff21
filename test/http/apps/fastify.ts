/** Fastify 5 + @fastify/session with `FastifySessionStore` (rolling, its default: a save on every request). */
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import Fastify from 'fastify';
import { FastifySessionStore } from 'sessionsql/fastify';
import { baseUrl, type Framework, type User, userNamed } from '../framework.js';

declare module 'fastify' {
  interface Session {
    user?: User;
  }
}

export const fastifyFramework: Framework = {
  name: 'fastify',
  regenerates: true,
  async start(records, { maxAgeMs, gate }) {
    const app = Fastify();
    await app.register(fastifyCookie);
    await app.register(fastifySession, {
      store: new FastifySessionStore(records),
      cookieName: 'sid',
      secret: 'a fastify test secret of 32+ characters',
      saveUninitialized: false,
      cookie: { secure: false, maxAge: maxAgeMs },
    });
    app.post<{ Querystring: { user: string } }>('/sign-in', async (request) => {
      await request.session.regenerate();
      request.session.user = userNamed(request.query.user);
      return { ok: true };
    });
    app.get('/me', async (request) => {
      const user = request.session.user ?? null;
      return { user, sid: user ? request.session.sessionId : null };
    });
    app.get('/slow', async (request) => {
      const user = request.session.user ?? null;
      await gate.pass();
      return { user, sid: user ? request.session.sessionId : null };
    });
    app.post('/sign-out-others', async (request, reply) => {
      const user = request.session.user;
      if (!user) return reply.code(401).send({ error: 'not signed in' });
      return { cleared: await records.clearSessionsForUser(user.id, { except: request.session.sessionId }) };
    });
    app.post('/sign-out', async (request) => {
      await request.session.destroy();
      return { ok: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { base: baseUrl(app.server.address()), flush: async () => undefined, close: () => app.close() };
  },
};
