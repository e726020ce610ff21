/** express 5 + express-session with `ExpressSessionStore`: the baseline row of the HTTP suite. */
import type { Request } from 'express';
import express from 'express';
import session from 'express-session';
import { ExpressSessionStore } from 'sessionsql';
import { closeServer, type Framework, listening, type User, userNamed } from '../framework.js';

const userOf = (req: Request) => req.session as unknown as { user?: User; seenAt?: number };

export const expressFramework: Framework = {
  name: 'express',
  regenerates: true,
  async start(records, { maxAgeMs, gate }) {
    const store = new ExpressSessionStore(records);
    const app = express();
    app.use(
      session({
        store,
        name: 'sid',
        secret: 'express test secret',
        resave: false,
        saveUninitialized: false,
        cookie: { maxAge: maxAgeMs },
      }),
    );
    app.post('/sign-in', (req, res, next) => {
      req.session.regenerate((error) => {
        if (error) return next(error);
        userOf(req).user = userNamed(String(req.query.user));
        req.session.save((saveError) => (saveError ? next(saveError) : res.json({ ok: true })));
      });
    });
    app.get('/me', (req, res) => {
      const user = userOf(req).user ?? null;
      res.json({ user, sid: user ? req.sessionID : null });
    });
    app.get('/slow', async (req, res) => {
      const user = userOf(req).user ?? null;
      // A change: with `resave: false`, express-session saves a changed session (else it only touches).
      if (user) userOf(req).seenAt = Date.now();
      await gate.pass();
      res.json({ user, sid: user ? req.sessionID : null });
    });
    app.post('/sign-out-others', async (req, res, next) => {
      const user = userOf(req).user;
      if (!user) return void res.status(401).json({ error: 'not signed in' });
      try {
        res.json({ cleared: await records.clearSessionsForUser(user.id, { except: req.sessionID }) });
      } catch (error) {
        next(error);
      }
    });
    app.post('/sign-out', (req, res, next) => {
      req.session.destroy((error) => (error ? next(error) : res.clearCookie('sid').json({ ok: true })));
    });
    const server = app.listen(0, '127.0.0.1');
    return { base: await listening(server), flush: async () => undefined, close: () => closeServer(server) };
  },
};
