/** Koa 3 + koa-session with `KoaSessionStore` as its external store, `rolling` (a save on every request). */
import Koa, { type Context } from 'koa';
import session from 'koa-session';
import { KoaSessionStore } from 'sessionsql/koa';
import { closeServer, type Framework, listening, type User, userNamed } from '../framework.js';

/** koa-session's `ctx.session` (koa-session declares no types on Koa's context). */
interface KoaSession {
  user?: User;
  readonly externalKey: string;
  regenerate(): Promise<void>;
}
const sessionOf = (ctx: Context) => (ctx as unknown as { session: KoaSession }).session;

export const koaFramework: Framework = {
  name: 'koa',
  regenerates: true,
  async start(records, { maxAgeMs, gate }) {
    const app = new Koa();
    app.keys = ['koa test secret'];
    app.use(session({ store: new KoaSessionStore(records), key: 'sid', maxAge: maxAgeMs, rolling: true }, app));
    app.use(async (ctx) => {
      const route = `${ctx.method} ${ctx.path}`;
      if (route === 'POST /sign-in') {
        (ctx as unknown as { session: object }).session = { user: userNamed(String(ctx.query.user)) };
        await sessionOf(ctx).regenerate();
        ctx.body = { ok: true };
      } else if (route === 'GET /me') {
        const user = sessionOf(ctx).user ?? null;
        ctx.body = { user, sid: user ? sessionOf(ctx).externalKey : null };
      } else if (route === 'GET /slow') {
        const user = sessionOf(ctx).user ?? null;
        await gate.pass();
        ctx.body = { user, sid: user ? sessionOf(ctx).externalKey : null };
      } else if (route === 'POST /sign-out-others') {
        const { user, externalKey } = sessionOf(ctx);
        if (!user) return ctx.throw(401, 'not signed in');
        ctx.body = { cleared: await records.clearSessionsForUser(user.id, { except: externalKey }) };
      } else if (route === 'POST /sign-out') {
        (ctx as unknown as { session: null }).session = null;
        ctx.body = { ok: true };
      }
    });
    const server = app.listen(0, '127.0.0.1');
    return { base: await listening(server), flush: async () => undefined, close: () => closeServer(server) };
  },
};
