/**
 * The end-to-end app, one process per contender: express 5 + express-session (resave false,
 * saveUninitialized false) with POST /login and GET /me. Started by http-bench.ts with
 * `node http-server.js <contender id> <touchAfterMs or 0>` and the BenchEnv as JSON in
 * BENCH_ENV; prints `{"port": n}` once it listens and exits on SIGTERM.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import session from 'express-session';
import { DAY_MS, sampleSession } from './bench-env.js';
import { contenderById } from './contenders.js';

const [id = '', touchAfterMsArg = '0'] = process.argv.slice(2);
const env = JSON.parse(process.env.BENCH_ENV ?? '{}');
const touchAfterMs = Number(touchAfterMsArg);
const contender = contenderById(id);
const opened = await contender.open(
  env,
  `http_${id.replace(/-/g, '_')}${touchAfterMs ? `_t${touchAfterMs}` : ''}`,
  touchAfterMs ? { touchAfterMs } : {},
);

// What a sign-in puts in the session besides the cookie: about 1 KB as JSON.
const { cookie: _cookie, ...profile } = sampleSession(0) as unknown as Record<string, unknown>;
let logins = 0;

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
    Object.assign(req.session, profile, { userId: `user-${logins++ % 2000}` });
    res.json({ ok: true });
  });
});
app.get('/me', (req, res) => {
  res.json({ userId: (req.session as { userId?: string }).userId ?? null });
});

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
// The benchmark needs no graceful shutdown; exiting at once keeps a store's late writes
// (express-session's touch after the response) from failing noisily on a closed pool.
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
