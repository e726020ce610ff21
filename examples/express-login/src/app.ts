import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import type { DefaultSessionStore } from 'sessionsql';
import { DEMO_ACCOUNTS, type DemoAccount, type UserDirectory } from './demo-users.js';
import { deviceLabel } from './device-label.js';
import { type DeviceRow, devicesPage, homePage, signInPage } from './pages.js';

declare module 'express-session' {
  interface SessionData {
    /** Who signed in; sessionsql's default `getUserId` reads this field. */
    userId?: string;
    /** When this device signed in, in milliseconds since the epoch. */
    signedInAt?: number;
    /** The browser's User-Agent at sign-in, for the devices page. */
    userAgent?: string;
    /** Token every signed-in form posts back, so another site cannot post for the user. */
    csrf?: string;
  }
}

/** Options of {@link createApp}. */
export interface AppOptions {
  /** The session store; the app also uses its per-user operations for the devices page. */
  store: DefaultSessionStore;
  /** Who may sign in. */
  users: UserDirectory;
  /** Signs the session cookie; several rotate (the first signs, all verify). */
  secret: string | string[];
  /** Production mode: the cookie is `Secure` (HTTPS only). @default false */
  production?: boolean;
  /**
   * Express's `trust proxy` setting, for a TLS-terminating proxy in front of the app (without
   * it, express sees plain HTTP and will not send a `Secure` cookie). @default false
   */
  trustProxy?: boolean | number | string;
  /** Accounts listed on the sign-in page. @default DEMO_ACCOUNTS */
  demoAccounts?: readonly DemoAccount[];
}

/** Name of the session cookie. */
export const COOKIE_NAME = 'sid';

/** Session lifetime: a week, moved forward by each request (in milliseconds). */
const SESSION_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * The handle of a session on the devices page: a hash, so that the page never shows another
 * device's session id (which, with the cookie secret, is all it takes to use that session).
 */
export function deviceKey(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('base64url').slice(0, 22);
}

function sameToken(a: unknown, b: string | undefined): boolean {
  if (typeof a !== 'string' || b === undefined || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Promise forms of the callback-only express-session methods. */
const regenerate = (req: Request) =>
  new Promise<void>((resolve, reject) => req.session.regenerate((err) => (err ? reject(err) : resolve())));
const save = (req: Request) =>
  new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
const destroy = (req: Request) =>
  new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));

/**
 * The demo app: sign-in, a home page, "Your devices" (list, sign out one, sign out all
 * others) and sign-out, with sessions in `options.store`.
 */
export function createApp(options: AppOptions): express.Express {
  const { store, users } = options;
  const production = options.production ?? false;
  const accounts = options.demoAccounts ?? DEMO_ACCOUNTS;
  const cookie = { httpOnly: true, sameSite: 'lax', secure: production, path: '/' } as const;

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy ?? false);

  app.use((_req, res, next) => {
    // Every page depends on who is signed in: never cached, so that after sign-out the back
    // button fetches the page again instead of showing a signed-in copy.
    res.set({
      'Cache-Control': 'no-store',
      'Content-Security-Policy':
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      'Referrer-Policy': 'same-origin',
      'X-Content-Type-Options': 'nosniff',
    });
    next();
  });
  app.use(express.urlencoded({ extended: false, limit: '4kb' }));
  app.use(
    session({
      store,
      secret: options.secret,
      name: COOKIE_NAME,
      resave: false,
      // No row for visitors who never sign in (and none for a failed sign-in).
      saveUninitialized: false,
      cookie: { ...cookie, maxAge: SESSION_MAX_AGE_MS },
    }),
  );

  const signedInUser = (req: Request) => {
    const id = req.session.userId;
    return id === undefined ? undefined : users.find(id);
  };

  /** Lets signed-in requests through; others go to the sign-in page. */
  const requireUser = (req: Request, res: Response, next: NextFunction) => {
    if (signedInUser(req) === undefined) return void res.redirect(303, '/sign-in');
    next();
  };

  /** Refuses a signed-in form post that does not carry this session's token. */
  const requireToken = (req: Request, res: Response, next: NextFunction) => {
    if (sameToken(req.body?.csrf, req.session.csrf)) return next();
    res
      .status(403)
      .type('html')
      .send(`<!doctype html><title>Forbidden</title>
<p>This form has expired or did not come from this site. <a href="/">Go back</a> and try again.</p>`);
  };

  app.get('/', requireUser, async (req, res) => {
    const user = signedInUser(req)!;
    res.type('html').send(
      homePage({
        name: user.name,
        csrf: req.session.csrf!,
        signedInAt: req.session.signedInAt ?? Date.now(),
        deviceCount: await store.countSessionsForUser(user.id),
      }),
    );
  });

  app.get('/sign-in', (req, res) => {
    if (signedInUser(req) !== undefined) return res.redirect(303, '/');
    res.type('html').send(signInPage({ accounts }));
  });

  app.post('/sign-in', async (req, res) => {
    const username = typeof req.body?.username === 'string' ? req.body.username : '';
    const password = typeof req.body?.password === 'string' ? req.body.password : '';
    const user = await users.verify(username, password);
    if (user === undefined) {
      res
        .status(401)
        .type('html')
        .send(signInPage({ accounts, username, error: 'That username and password do not match.' }));
      return;
    }
    // A new session id at sign-in: an id planted in the browser before (session fixation) is
    // never the one that becomes signed in.
    await regenerate(req);
    req.session.userId = user.id;
    req.session.signedInAt = Date.now();
    req.session.userAgent = req.get('user-agent')?.slice(0, 512) ?? '';
    req.session.csrf = randomBytes(24).toString('base64url');
    await save(req);
    res.redirect(303, '/');
  });

  app.get('/devices', requireUser, async (req, res) => {
    const user = signedInUser(req)!;
    const now = Date.now();
    const devices: DeviceRow[] = (await store.listSessionsForUser(user.id, { limit: 100 })).map((s) => ({
      key: deviceKey(s.id),
      label: deviceLabel(s.data.userAgent),
      userAgent: s.data.userAgent ?? '',
      signedInAt: s.data.signedInAt ?? s.createdAt,
      lastActiveAt: s.id === req.sessionID ? now : s.updatedAt,
      current: s.id === req.sessionID,
    }));
    // This device first, then the others newest sign-in first (the order the store lists them).
    devices.sort((a, b) => Number(b.current) - Number(a.current));
    const signedOut = Number(req.query['signed-out']);
    const notice =
      req.query['signed-out'] === undefined || !Number.isSafeInteger(signedOut) || signedOut < 0
        ? undefined
        : `Signed out ${signedOut === 1 ? '1 device' : `${signedOut} devices`}.`;
    res
      .type('html')
      .send(
        devicesPage({ name: user.name, csrf: req.session.csrf!, devices, ...(notice === undefined ? {} : { notice }) }),
      );
  });

  const signOut = async (req: Request, res: Response) => {
    await destroy(req);
    res.clearCookie(COOKIE_NAME, cookie);
    res.redirect(303, '/sign-in');
  };

  app.post('/devices/sign-out-others', requireUser, requireToken, async (req, res) => {
    const count = await store.clearSessionsForUser(req.session.userId!, { except: req.sessionID });
    res.redirect(303, `/devices?signed-out=${count}`);
  });

  app.post('/devices/:key/sign-out', requireUser, requireToken, async (req, res) => {
    const key = String(req.params.key);
    if (key === deviceKey(req.sessionID)) return signOut(req, res);
    // Only among this user's own sessions: a key of someone else's session finds nothing.
    const ids = await store.listSessionIdsForUser(req.session.userId!);
    const target = ids.find((id) => deviceKey(id) === key);
    if (target !== undefined) await store.destroy(target);
    res.redirect(303, `/devices?signed-out=${target === undefined ? 0 : 1}`);
  });

  app.post('/sign-out', requireUser, requireToken, signOut);

  app.use((_req, res) => {
    res.status(404).type('html').send('<!doctype html><title>Not found</title><p>Not found. <a href="/">Home</a></p>');
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    console.error('request failed:', error);
    if (res.headersSent) return;
    // The details stay in the server log: they can name hosts and tables.
    res
      .status(500)
      .type('html')
      .send('<!doctype html><title>Error</title><p>Something went wrong on our side. <a href="/">Try again</a></p>');
  });

  return app;
}
