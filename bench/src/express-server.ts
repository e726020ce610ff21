/**
 * The express end-to-end app, one process per contender: express 5 + express-session (resave
 * false, saveUninitialized false) with POST /login and GET /me, on any store of contenders.ts.
 * Started by http-bench.ts as `node express-server.js <contender id> <touchAfterMs or 0>`
 * (see http-app.ts).
 */
import express from 'express';
import session from 'express-session';
import { DAY_MS } from './bench-env.js';
import { contenderById } from './contenders.js';
import { announce, appArgs, signedInData, tableName } from './http-app.js';

const { store: id, touchAfterMs, env } = appArgs();
const opened = await contenderById(id).open(
  env,
  tableName('express', id, touchAfterMs),
  touchAfterMs ? { touchAfterMs } : {},
);

const app = express();
app.use(
  session({
    store: opened.sessionStore,
    secret: 'sessionsql bench',
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: DAY_MS, httpOnly: true, sameSite: 'lax' },
  }),
);
app.post('/login', (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err);
    Object.assign(req.session, signedInData());
    res.json({ ok: true });
  });
});
app.get('/me', (req, res) => {
  res.json({ userId: (req.session as { userId?: string }).userId ?? null });
});

const server = app.listen(0, '127.0.0.1', () => announce(server.address()));
