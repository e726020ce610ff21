import { hash } from 'node:crypto';
import { isUserIdValue } from './session-store-options.js';

/**
 * Whether `text` is well-formed Unicode without NUL: the same strings then mean the same on
 * every database (PostgreSQL cannot store NUL in text and turns a lone surrogate into U+FFFD).
 */
function isCleanText(text: string): boolean {
  // isWellFormed is in Node 20 (ES2024), beyond the es2023 lib the packages compile against.
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed() && !text.includes('\u0000');
}

/**
 * Throws a `TypeError` unless `sid` is a non-empty, well-formed string without NUL. The
 * message never shows the id.
 */
export function assertSessionId(sid: unknown): asserts sid is string {
  if (typeof sid !== 'string' || sid.length === 0) {
    throw new TypeError(
      `sessionsql: a session id must be a non-empty string (got ${sid === '' ? 'an empty string' : typeof sid}).`,
    );
  }
  if (!isCleanText(sid)) {
    throw new TypeError(
      'sessionsql: a session id must be well-formed Unicode without NUL characters (this one has a lone surrogate or a NUL); nothing was read or written.',
    );
  }
}

/**
 * The key a session is stored under: the SHA-256 of its id, base64url (43 characters). The
 * table never holds the id itself, so a leaked table or backup holds no usable cookie. It is
 * also the session's *handle* in per-user listings: it can sign the session out but cannot
 * be used as a cookie.
 */
export function sessionKey(sid: string): string {
  return hash('sha256', sid, 'base64url');
}

/** Throws a `TypeError` unless `handle` looks like a key from {@link sessionKey}. */
export function assertHandle(handle: unknown): asserts handle is string {
  if (typeof handle !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(handle)) {
    throw new TypeError(
      'sessionsql: a session handle is the 43-character `handle` of a listed session (from listSessionsForUser or handleOf).',
    );
  }
}

/** The stored form of a user id: its decimal string for numbers; a `TypeError` for anything else. */
export function toUserId(userId: unknown): string {
  if (isUserIdValue(userId)) {
    const id = String(userId);
    if (!isCleanText(id)) {
      throw new TypeError('sessionsql: a user id must be well-formed Unicode without NUL characters.');
    }
    return id;
  }
  throw new TypeError(
    `sessionsql: a user id must be a non-empty string or a finite number (got ${userId === '' ? 'an empty string' : typeof userId}).`,
  );
}

/** The latest expiry a `Date` (and so every dialect) can hold: 8.64e15 ms, in the year 275760. */
export const MAX_EXPIRY_MS = 8.64e15;

/**
 * Throws a `TypeError` unless `expiresAt` is a whole number of milliseconds from the epoch to
 * {@link MAX_EXPIRY_MS}: the same rule on every database.
 */
export function assertExpiry(expiresAt: unknown): asserts expiresAt is number {
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt < 0 || expiresAt > MAX_EXPIRY_MS) {
    throw new TypeError(
      `sessionsql: an expiry must be milliseconds since the epoch, from 0 to ${MAX_EXPIRY_MS} (a date before the year 275760); got ${typeof expiresAt === 'number' ? String(expiresAt) : typeof expiresAt}. Nothing was written.`,
    );
  }
}

/** Session data as JSON text; a `TypeError` naming the fix when it is no JSON object. */
export function encodeSession(sess: unknown): string {
  if (typeof sess !== 'object' || sess === null) {
    throw new TypeError(`sessionsql: a session must be saved as an object (got ${String(sess)}).`);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(sess);
  } catch (cause) {
    // JSON's own message quotes the session's keys, so it is summed up rather than passed on.
    const message = String((cause as Error)?.message);
    const what = /circular/i.test(message)
      ? 'a circular reference'
      : /bigint/i.test(message)
        ? 'a BigInt value'
        : 'a value whose toJSON throws';
    throw new TypeError(
      `sessionsql: the session cannot be saved because its data cannot be encoded as JSON: it holds ${what}. Keep only JSON values in the session: no circular references, BigInt values or class instances with a throwing toJSON.`,
    );
  }
  if (typeof text !== 'string' || text[0] !== '{') {
    throw new TypeError('sessionsql: the session cannot be saved because it does not encode to a JSON object.');
  }
  return text;
}

/** Parses stored JSON text; throws unless it is a JSON object (the message holds none of the text). */
export function decodeSession(text: string): { [key: string]: unknown } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse quotes the text it choked on: never pass that on.
    throw new Error('it is not valid JSON');
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as { [key: string]: unknown };
  throw new Error(`expected a JSON object, found ${Array.isArray(value) ? 'an array' : typeof value}`);
}

/**
 * Whether two JSON texts hold the same value whatever their key order and spacing
 * (PostgreSQL's `jsonb`, in tables created by an earlier sessionsql, returns keys in its own order).
 */
export function sameJson(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return canonical(JSON.parse(a)) === canonical(JSON.parse(b));
  } catch {
    return false;
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Milliseconds since the epoch from what a driver returns for a time column. */
export function toMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return Date.parse(String(value));
}
