import { isUserIdValue } from './session-store-options.js';

/** Throws a `TypeError` unless `sid` is a non-empty string. */
export function assertSessionId(sid: unknown): asserts sid is string {
  if (typeof sid !== 'string' || sid.length === 0) {
    throw new TypeError(
      `sessionsql: a session id must be a non-empty string (got ${sid === '' ? 'an empty string' : typeof sid}).`,
    );
  }
}

/** The stored form of a user id: its decimal string for numbers; a `TypeError` for anything else. */
export function toUserId(userId: unknown): string {
  if (isUserIdValue(userId)) return String(userId);
  throw new TypeError(
    `sessionsql: a user id must be a non-empty string or a finite number (got ${userId === '' ? 'an empty string' : typeof userId}).`,
  );
}

/** Throws a `TypeError` unless `expiresAt` is a finite number of milliseconds. */
export function assertExpiry(expiresAt: unknown): asserts expiresAt is number {
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) {
    throw new TypeError(
      `sessionsql: an expiry must be a finite number of milliseconds since the epoch (got ${typeof expiresAt === 'number' ? String(expiresAt) : typeof expiresAt}).`,
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
    throw new TypeError(
      `sessionsql: the session cannot be saved because its data cannot be encoded as JSON (${(cause as Error).message}). Keep only JSON values in the session: no circular references, BigInt values or class instances with a throwing toJSON.`,
      { cause },
    );
  }
  if (typeof text !== 'string' || text[0] !== '{') {
    throw new TypeError('sessionsql: the session cannot be saved because it does not encode to a JSON object.');
  }
  return text;
}

/** Parses stored JSON text; throws unless it is a JSON object. */
export function decodeSession(text: string): { [key: string]: unknown } {
  const value: unknown = JSON.parse(text);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as { [key: string]: unknown };
  throw new Error(`expected a JSON object, found ${Array.isArray(value) ? 'an array' : typeof value}`);
}

/**
 * Whether two JSON texts hold the same value whatever their key order and spacing
 * (PostgreSQL's `jsonb` returns keys in its own order).
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
