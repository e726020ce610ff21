import type { SessionObject, SessionRecord } from '@sessionsql/core';

/**
 * The cookie of a `@fastify/session` session as this adapter sees it: its `Cookie` class
 * (serialized with `toJSON()`), or the plain object a store hands back.
 */
export interface FastifySessionCookie {
  /** When the cookie expires; `null` for a browser-session cookie. */
  expires?: Date | string | null;
  /** The cookie's `maxAge` as configured, in milliseconds; `null` without one. */
  originalMaxAge?: number | null;
  toJSON?(): { [key: string]: unknown };
  [key: string]: unknown;
}

/**
 * What `@fastify/session` passes to the store's `set` (its `Session` object, whose own
 * enumerable properties are the session data plus `cookie`) and gets back from `get` (the
 * stored data). Only `cookie` is read by the adapter; every other own key is data.
 */
export interface FastifySessionData {
  /** `@fastify/session`'s cookie ({@link FastifySessionCookie}); the store reads its expiry. */
  cookie: any;
  [key: string]: any;
}

/** A session split into what is stored as data and the expiry the cookie asks for. */
interface StoredFastifySession {
  /** The data without the cookie's per-request fields (`expires`, `originalExpires`). */
  readonly data: SessionObject;
  /** The cookie's expiry in ms since the epoch, or undefined for a browser-session cookie. */
  readonly expiresAt: number | undefined;
}

/**
 * Splits a `@fastify/session` session into stored data and expiry. Fastify moves
 * `cookie.expires` on every request (and copies the previous one to `cookie.originalExpires`),
 * so both stay out of the data: an unchanged session then stores the same data every time,
 * and `touchAfterMs` can skip its rolling saves. A browser-session cookie keeps
 * `expires: null` in the data, which tells {@link fromStoredFastifySession} not to give it one.
 */
export function toStoredFastifySession(session: FastifySessionData): StoredFastifySession {
  if (typeof session !== 'object' || session === null) {
    throw new TypeError(`sessionsql: set() needs the session object as its second argument (got ${typeof session}).`);
  }
  // Own enumerable keys: the session data and `cookie` (Fastify keeps its internals under symbols).
  const data: SessionObject = { ...session };
  const cookie: FastifySessionCookie | null | undefined = session.cookie;
  if (typeof cookie !== 'object' || cookie === null) return { data, expiresAt: undefined };
  const {
    expires,
    originalExpires: _previous,
    ...stable
  } = typeof cookie.toJSON === 'function' ? cookie.toJSON() : { ...cookie };
  const expiresAt = timeMs(expires);
  data.cookie = expiresAt === undefined ? { ...stable, expires: null } : stable;
  return { data, expiresAt };
}

/**
 * The session `@fastify/session` gets from `get`: the stored data with `cookie.expires` put
 * back from the record's expiry (as an ISO string, like any JSON store returns it). Fastify
 * then rebuilds its `Cookie` from it and checks that expiry itself.
 */
export function fromStoredFastifySession(record: SessionRecord): FastifySessionData {
  const data = record.data as FastifySessionData;
  const cookie: unknown = data.cookie;
  if (typeof cookie === 'object' && cookie !== null && !Array.isArray(cookie) && !('expires' in cookie)) {
    (cookie as FastifySessionCookie).expires = new Date(record.expiresAt).toISOString();
  }
  return data;
}

/** Milliseconds since the epoch of a `Date`, an ISO string or a number; undefined for anything else. */
function timeMs(value: unknown): number | undefined {
  if (value === undefined || value === null || value === false) return undefined;
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : Date.parse(String(value));
  return Number.isFinite(ms) ? ms : undefined;
}
