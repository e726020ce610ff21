// The app under load: express 5 + express-session on the real DefaultSessionStore, served over
// HTTP on 127.0.0.1, like examples/express-login without pages. POST /login?user=… signs in
// with a new session id and answers 200 only once the session is saved; GET /me answers the
// signed-in user, or 401 when the session is not found. A store error is a 503 naming its code
// only (no message, no session id).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import express from 'express';
import session from 'express-session';

/**
 * @param {import('sessionsql').DefaultSessionStore} store
 * @returns {Promise<{ port: number, errors: Map<string, number>, close(): Promise<void> }>}
 */
export async function startSessionApp(store) {
  /** Store errors seen by the app, by code. */
  const errors = new Map();
  const app = express();
  app.use(
    session({
      store,
      secret: randomBytes(32).toString('hex'),
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 3_600_000 },
    }),
  );
  app.post('/login', (req, res, next) => {
    const user = String(req.query.user);
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.userId = user;
      req.session.save((saveError) => (saveError ? next(saveError) : res.json({ user })));
    });
  });
  app.get('/me', (req, res) => {
    if (req.session.userId === undefined) res.status(401).json({ signedIn: false });
    else res.json({ user: req.session.userId });
  });
  const failed = (error, res) => {
    const code = typeof error?.code === 'string' ? error.code : 'other';
    errors.set(code, (errors.get(code) ?? 0) + 1);
    // express-session touches a loaded session while the response is written, and passes a
    // failed touch on after it (past every route): the answer is already sent, and the session
    // is kept. Express's own final handler would log it and destroy the keep-alive socket.
    if (!res.headersSent) res.status(503).json({ error: code });
  };
  app.use((error, _req, res, _next) => failed(error, res));
  const server = createServer((req, res) => app(req, res, (error) => failed(error, res)));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  return {
    port: server.address().port,
    errors,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * One HTTP request with a deadline; never throws.
 * @returns {Promise<{ status: number, ok: boolean, body: any, cookie?: string, start: number, end: number, error?: string }>}
 */
export async function request(port, method, path, cookie, timeoutMs) {
  const start = performance.now();
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      headers: cookie === undefined ? {} : { cookie },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.json().catch(() => undefined);
    const setCookie = response.headers.get('set-cookie');
    return {
      status: response.status,
      ok: response.ok,
      body,
      ...(setCookie ? { cookie: setCookie.split(';')[0] } : {}),
      start,
      end: performance.now(),
    };
  } catch (error) {
    return {
      status: 0,
      ok: false,
      body: undefined,
      start,
      end: performance.now(),
      error: error?.name === 'TimeoutError' ? 'timeout' : String(error?.cause?.code ?? error?.message),
    };
  }
}
