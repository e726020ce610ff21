/**
 * The record-level contract: what the store keeps for one session, independent of any web
 * framework. Adapters (express-session, Fastify, Koa, Hono) translate their framework's calls
 * into these records.
 *
 * Meaning:
 * - a missing or expired session is nothing (`null`), never an expired record;
 * - saving is an upsert; touching only moves the expiry of a live session and never creates one;
 * - every time is milliseconds since the Unix epoch.
 */

/** Session data: a JSON object. Stored as JSON text, returned as a fresh object on every load. */
export type SessionObject = { [key: string]: unknown };

/** A live session as loaded by {@link SessionRecordStore.load}. */
export interface SessionRecord<Data = SessionObject> {
  /** The data as last saved. */
  readonly data: Data;
  /** When the session expires, in milliseconds since the epoch (always in the future when loaded). */
  readonly expiresAt: number;
}

/** A user's live session, as listed by `listSessionsForUser`. */
export interface UserSession<Data = SessionObject> {
  /**
   * The session's handle: names it to `deleteByHandle` ("sign out this device") and tells the
   * current one (`handleOf(currentSessionId)`), but is no cookie: the table stores a hash of
   * each session id, never the id.
   */
  readonly handle: string;
  readonly userId: string;
  /** When the session was first saved, in milliseconds since the epoch. */
  readonly createdAt: number;
  /** When the session was last saved or touched, in milliseconds since the epoch. */
  readonly updatedAt: number;
  /** When the session expires, in milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly data: Data;
}

/** One live session as yielded by `dump`. */
export interface DumpedSession<Data = SessionObject> {
  /** The session's handle (the hash of its id it is stored under); see {@link UserSession.handle}. */
  readonly handle: string;
  /** The session's user, or null for an anonymous session. */
  readonly userId: string | null;
  /** When the session expires, in milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly data: Data;
}

/** Options of `clearSessionsForUser`. */
export interface ClearForUserOptions {
  /** A session id to keep ("log out other devices": the current session's id). */
  except?: string;
}

/** Options of `listSessionsForUser`. */
export interface ListForUserOptions {
  /** At most this many sessions. @default 100 */
  limit?: number;
  /** Skip this many (newest first). @default 0 */
  offset?: number;
}

/** Options of `dump`. */
export interface DumpOptions {
  /** Rows read per query; at most this many sit in memory at once. @default 1000 */
  pageSize?: number;
}

/** Sessions keyed by handle (the stored hash of each id), as returned by `all`. */
export type SessionsById<Data = SessionObject> = { [handle: string]: Data };
