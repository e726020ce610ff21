import { randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import { type DefaultSessionStore, type SessionRecordStore, SessionStoreError, sessionKey } from 'sessionsql';
import { DEMO_ACCOUNTS, type DemoAccount, type UserDirectory } from './demo-users.js';
import { deviceLabel } from './device-label.js';
import { type DeviceRow, devicesPage, homePage, messagePage, signInPage, waitText } from './pages.js';
import { type SignInLimits, SignInThrottle } from './sign-in-throttle.js';

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
  /**
   * Where failed sign-ins are counted: a record store on the session database with a table of
   * its own (`openRecordStore({ url, tableName: 'sign_in_attempts' })`), shared by every node.
   */
  signInAttempts: SessionRecordStore;
  /** Failed sign-ins allowed per account and per client. @default DEFAULT_SIGN_IN_LIMITS (10 and 50 in 15 minutes) */
  signInLimits?: SignInLimits;
  /** Who may sign in. */
  users: UserDirectory;
  /** Signs the session cookie; several rotate (the first signs, all verify). */
  secret: string | string[];
  /**
   * Production mode: the cookie is `Secure` (HTTPS only), and signing in over plain HTTP is
   * refused with a page saying why (the browser would never get the cookie). @default false
   */
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
 * The key of a session on the devices page: the store's handle of it (the hash it is stored
 * under), so that the page never shows another device's session id (which, with the cookie
 * secret, is all it takes to use that session).
 */
export function deviceKey(sessionId: string): string {
  return sessionKey(sessionId);
}

/**
 * Whether a page of another site made the browser send this request: a form posted from there
 * (cross-site request forgery), including a sign-in into the attacker's account (login CSRF),
 * which no session token can catch as there is no session yet. Browsers say where a request
 * comes from: `Sec-Fetch-Site` (every current browser), else `Origin`, compared with the host
 * the request went to. A request with neither is no browser's form post: let through.
 */
function fromAnotherSite(req: Request): boolean {
  const site = req.get('sec-fetch-site');
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = req.get('origin');
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== (req.host ?? '').toLowerCase();
  } catch {
    return true; // `Origin: null` (a sandboxed frame, a redirect from elsewhere) or garbage
  }
}

/**
 * Whether the request carries a session cookie (without one, express-session made a new id for
 * it this request). Spaces around the name are allowed, as express-session's cookie parser trims them.
 */
function hasSessionCookie(req: Request): boolean {
  return new RegExp(`(?:^|;)\\s*${COOKIE_NAME}\\s*=`).test(req.get('cookie') ?? '');
}

/** Leaves the session out of this response: express-session then neither saves it nor sets its cookie. */
function dropSession(req: Request): void {
  (req as { session?: unknown }).session = undefined;
}

/**
 * The error as the log shows it: its own stack (name and message first), never the request,
 * its body or its session. sessionsql's errors name the table and host, never a session id or
 * data; the driver's error they wrap (`cause`) is left out.
 */
function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
}

/** The status of an error the client caused (a body too large or unreadable), else undefined. */
function clientErrorStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
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
 * Saves the session now, as the request's only write. express-session saves a session once more
 * when the response ends if its id changed during the request (`regenerate` at sign-in), and a
 * failure of that second write reaches `next(err)` after the response went out, which resets
 * the connection. So once this save succeeded, the session's `save` does nothing for the rest
 * of the request.
 */
async function saveOnce(req: Request): Promise<void> {
  const session = req.session;
  await save(req);
  Object.defineProperty(session, 'save', {
    configurable: true,
    enumerable: false,
    writable: true,
    value: (callback?: (err?: unknown) => void) => {
      if (callback) setImmediate(callback);
      return session;
    },
  });
}

/**
 * The demo app: sign-in, a home page, "Your devices" (list, sign out one, sign out all
 * others) and sign-out, with sessions in `options.store`.
 */
export function createApp(options: AppOptions): express.Express {
  const { store, users } = options;
  const production = options.production ?? false;
  const accounts = options.demoAccounts ?? DEMO_ACCOUNTS;
  const cookie = { httpOnly: true, sameSite: 'lax', secure: production, path: '/' } as const;
  const throttle = new SignInThrottle(options.signInAttempts, options.signInLimits);
  let warnedPlainHttp = false;

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
  const forbidden = (res: Response) => {
    res
      .status(403)
      .type('html')
      .send(
        messagePage(
          'Forbidden',
          '<p>This form has expired or did not come from this site. <a href="/">Go back</a> and try again.</p>',
        ),
      );
  };
  // Before the body is read or the session loaded: a post from another site's page is refused.
  app.use((req, res, next) => (req.method === 'POST' && fromAnotherSite(req) ? forbidden(res) : next()));
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
    forbidden(res);
  };

  /**
   * In production the session cookie is `Secure`: over plain HTTP the browser would never get
   * it, so signing in is refused there, with a page saying why, and nothing is stored.
   */
  const requireHttps = (req: Request, res: Response, next: NextFunction) => {
    if (!production || req.secure) return next();
    if (!warnedPlainHttp) {
      warnedPlainHttp = true;
      console.warn(
        'express-login: a sign-in page was asked for over plain HTTP in production; serve it through HTTPS (a TLS proxy that sends X-Forwarded-Proto, with TRUST_PROXY set)',
      );
    }
    res
      .status(403)
      .type('html')
      .send(
        messagePage(
          'HTTPS required',
          '<p>Signing in needs HTTPS: this server only sends its session cookie over a secure connection. Open this site with an <code>https://</code> address.</p>',
        ),
      );
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

  app.get('/sign-in', requireHttps, (req, res) => {
    if (signedInUser(req) !== undefined) return res.redirect(303, '/');
    res.type('html').send(signInPage({ accounts }));
  });

  app.post('/sign-in', requireHttps, async (req, res) => {
    const username = typeof req.body?.username === 'string' ? req.body.username : '';
    const password = typeof req.body?.password === 'string' ? req.body.password : '';
    const verdict = await throttle.begin(username, req.ip);
    if (!verdict.allowed) {
      const seconds = Math.max(1, Math.ceil((verdict.retryAt - Date.now()) / 1000));
      const who = verdict.scope === 'account' ? 'for this account' : 'from your network';
      res
        .status(429)
        .set('Retry-After', String(seconds))
        .type('html')
        .send(
          signInPage({
            accounts,
            username,
            error: `Too many failed sign-ins ${who}. Try again in ${waitText(seconds)}.`,
          }),
        );
      return;
    }
    const user = await users.verify(username, password);
    if (user === undefined) {
      res
        .status(401)
        .type('html')
        .send(signInPage({ accounts, username, error: 'That username and password do not match.' }));
      return;
    }
    await verdict.attempt.succeeded();
    // A new session id at sign-in: an id planted in the browser before (session fixation) is
    // never the one that becomes signed in. Without a session cookie the id is already new.
    if (hasSessionCookie(req)) await regenerate(req);
    req.session.userId = user.id;
    req.session.signedInAt = Date.now();
    req.session.userAgent = req.get('user-agent')?.slice(0, 512) ?? '';
    req.session.csrf = randomBytes(24).toString('base64url');
    await saveOnce(req);
    res.redirect(303, '/');
  });

  app.get('/devices', requireUser, async (req, res) => {
    const user = signedInUser(req)!;
    const now = Date.now();
    const devices: DeviceRow[] = (await store.listSessionsForUser(user.id, { limit: 100 })).map((s) => ({
      key: s.handle,
      label: deviceLabel(s.data.userAgent),
      userAgent: s.data.userAgent ?? '',
      signedInAt: s.data.signedInAt ?? s.createdAt,
      lastActiveAt: s.handle === deviceKey(req.sessionID) ? now : s.updatedAt,
      current: s.handle === deviceKey(req.sessionID),
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
    const handles = await store.listSessionHandlesForUser(req.session.userId!);
    const target = handles.find((handle) => handle === key);
    if (target !== undefined) await store.deleteByHandle(target);
    res.redirect(303, `/devices?signed-out=${target === undefined ? 0 : 1}`);
  });

  app.post('/sign-out', requireUser, requireToken, signOut);

  app.use((_req, res) => {
    res.status(404).type('html').send('<!doctype html><title>Not found</title><p>Not found. <a href="/">Home</a></p>');
  });

  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    // An error page saves no session: no second write that fails again, no cookie for a session
    // that was never stored.
    dropSession(req);
    const status = clientErrorStatus(error);
    // The client's mistakes (a form too large or unreadable) are not logged; other failures are,
    // by their message and stack only.
    if (status === undefined) {
      const late = res.headersSent ? ' after its response was sent' : '';
      console.error(`express-login: ${req.method} ${req.path} failed${late}: ${describeError(error)}`);
    }
    if (res.headersSent) {
      // Too late for an error page (e.g. express-session's touch failed as the response ended):
      // a finished response stays as it is, with its connection; one cut short must not look complete.
      if (!res.writableEnded) res.destroy();
      return;
    }
    // The details stay in the server log: they can name hosts and tables.
    if (status === 413) {
      res
        .status(413)
        .type('html')
        .send(
          messagePage(
            'Too large',
            '<p>That form was too large for this site (at most 4 KB). <a href="/">Go back</a> and try again.</p>',
          ),
        );
    } else if (status !== undefined) {
      res
        .status(status)
        .type('html')
        .send(messagePage('Bad request', '<p>That form could not be read. <a href="/">Go back</a> and try again.</p>'));
    } else if (error instanceof SessionStoreError) {
      const what = req.path === '/sign-in' ? 'Signing in is not possible' : 'This page cannot be shown';
      res
        .status(503)
        .type('html')
        .send(
          messagePage(
            'Unavailable',
            `<p>${what} right now: the session database cannot be reached. <a href="/">Try again</a> in a moment.</p>`,
          ),
        );
    } else {
      res
        .status(500)
        .type('html')
        .send(messagePage('Error', '<p>Something went wrong on our side. <a href="/">Try again</a></p>'));
    }
  });

  return app;
}
