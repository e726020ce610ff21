import { sameJson } from './session-codec.js';

/**
 * Most sessions remembered between a request's load and its save or touch; the oldest go
 * first, so memory stays bounded whatever the traffic.
 */
const MAX_REMEMBERED = 10_000;
/** Characters of stored JSON kept for `touchAfterMs` comparisons, over all remembered sessions. */
const MAX_REMEMBERED_TEXT = 8_000_000;

interface Loaded {
  /** The expiry as stored, in ms; NaN once the session was deleted here. */
  readonly expiresAt: number;
  /** The data as stored (JSON text), kept only for `touchAfterMs`. */
  readonly text: string | undefined;
  /**
   * The user it was loaded or last saved with here (null: none), undefined when unknown: only
   * a hint (another process may have changed it), which picks the statement of a save.
   */
  readonly userId: string | null | undefined;
}

/**
 * What this process knows of the sessions it loaded, between a request's load and the save or
 * touch that ends it. Two uses:
 *
 * - Resurrection guard: a session this process loaded is saved with an update of the live row,
 *   never an insert, so a request that loaded it before a sign-out (`delete`,
 *   `clearSessionsForUser`, here or in another process) cannot bring it back when it saves at
 *   the end. Only ids never loaded here (new sessions) are inserted.
 * - `touchAfterMs`: a save or touch that would change nothing but move the expiry by less than
 *   `touchAfterMs` is skipped, so a session that is only read is written at most once per
 *   `touchAfterMs` and never expires more than `touchAfterMs` before the framework asked.
 *
 * It only ever skips writes or narrows an upsert to an update; a write it cannot vouch for
 * always goes through.
 */
export class LoadedSessions {
  readonly #touchAfterMs: number;
  // Two generations instead of evicting the oldest entry on every insert: V8's Map keeps deleted
  // slots until it rehashes, so "delete the first entry" walks ever more holes (measured: a
  // mean of 13 µs per call under churn). When the current generation is full it becomes the old
  // one and the older is dropped whole: O(1) per call, at most twice the limits in memory.
  #current = new Map<string, Loaded>();
  #previous = new Map<string, Loaded>();
  #textLength = 0;

  /** @param touchAfterMs see the store option; 0 turns write skipping off. */
  constructor(touchAfterMs: number) {
    this.#touchAfterMs = touchAfterMs;
  }

  /** Whether loads must read the stored expiry (`touchAfterMs > 0`). */
  get throttled(): boolean {
    return this.#touchAfterMs > 0;
  }

  /**
   * Records what a load found for `id`: a live session and its user (undefined when its data
   * names none that `getUserId` accepts), or nothing (`undefined`).
   */
  loaded(id: string, found: { expiresAt: number; text: string; userId: string | null | undefined } | undefined): void {
    const previous = this.#get(id);
    // Nothing found for a session loaded before: it was deleted or expired; stay guarded.
    if (found === undefined && previous === undefined) return;
    const text = found !== undefined && this.throttled ? found.text : undefined;
    this.#set(id, { expiresAt: found?.expiresAt ?? Number.NaN, text, userId: found?.userId });
  }

  /** Whether a save of `id` must only update a live row (it was loaded here). */
  wasLoaded(id: string): boolean {
    return this.#current.has(id) || this.#previous.has(id);
  }

  /**
   * The user `id` was loaded or last saved with here (null: none; undefined: unknown). A hint
   * only: a save that keeps it is tried without setting the user (see `updateKeepingUser`).
   */
  userOf(id: string): string | null | undefined {
    return this.#get(id)?.userId;
  }

  /** Whether a touch of `id` to `expiresAt` at `now` may be skipped. */
  skipTouch(id: string, expiresAt: number, now: number): boolean {
    return this.#closeEnough(this.#get(id), expiresAt, now);
  }

  /** Whether a save of `text` to `expiresAt` at `now` may be skipped (same data as loaded). */
  skipSave(id: string, text: string, expiresAt: number, now: number): boolean {
    const loaded = this.#get(id);
    return this.#closeEnough(loaded, expiresAt, now) && loaded!.text !== undefined && sameJson(loaded!.text, text);
  }

  /**
   * Records a write of `id`: its new expiry, and, for a save, its new data (kept under
   * `touchAfterMs`) and user.
   */
  written(id: string, expiresAt: number, saved?: { text: string; userId: string | null }): void {
    const previous = this.#get(id);
    if (previous === undefined) return;
    this.#set(id, {
      expiresAt,
      text: this.throttled ? (saved?.text ?? previous.text) : undefined,
      userId: saved === undefined ? previous.userId : saved.userId,
    });
  }

  /** Records that `id` was deleted: a later save of it from a request still running updates nothing. */
  deleted(id: string): void {
    this.#set(id, { expiresAt: Number.NaN, text: undefined, userId: undefined });
  }

  /**
   * The stored expiry is at most `touchAfterMs` short of the one asked for, not past it, and
   * leaves at least half of the lifetime asked for (so a lifetime shorter than `touchAfterMs`
   * is still kept alive by an active user).
   */
  #closeEnough(loaded: Loaded | undefined, expiresAt: number, now: number): boolean {
    if (!this.throttled || loaded === undefined) return false;
    const stored = loaded.expiresAt;
    return stored <= expiresAt && stored >= expiresAt - this.#touchAfterMs && stored - now >= (expiresAt - now) / 2;
  }

  #get(id: string): Loaded | undefined {
    return this.#current.get(id) ?? this.#previous.get(id);
  }

  #set(id: string, entry: Loaded): void {
    const current = this.#current;
    const replaced = current.get(id);
    if (replaced !== undefined) this.#textLength -= replaced.text?.length ?? 0;
    current.set(id, entry);
    this.#textLength += entry.text?.length ?? 0;
    if (current.size >= MAX_REMEMBERED / 2 || this.#textLength >= MAX_REMEMBERED_TEXT / 2) {
      this.#previous = current;
      this.#current = new Map();
      this.#textLength = 0;
    }
  }
}
