import { sameJson } from './session-codec.js';

/**
 * Most sessions remembered between a request's load and its touch or save; the oldest entry
 * goes first, so memory stays bounded whatever the traffic.
 */
const MAX_REMEMBERED = 10_000;

interface Loaded {
  /** The expiry as stored, in ms. */
  readonly expiresAt: number;
  /** The data as stored (JSON text), to tell an unchanged save. */
  readonly text: string;
}

/**
 * The `touchAfterMs` layer: remembers what `load` read so that the touch or save that follows
 * in the same request can be skipped when it would change nothing but move the expiry by less
 * than `touchAfterMs`. A session that is only read is therefore written at most once per
 * `touchAfterMs`, and never expires more than `touchAfterMs` before the framework asked.
 * It only ever skips writes; a write it cannot vouch for (no load just before, other data, a
 * bigger move of the expiry) always goes through.
 */
export class TouchThrottle {
  readonly #touchAfterMs: number;
  readonly #loaded = new Map<string, Loaded>();

  constructor(touchAfterMs: number) {
    this.#touchAfterMs = touchAfterMs;
  }

  /** Whether the throttle is on (`touchAfterMs > 0`). */
  get enabled(): boolean {
    return this.#touchAfterMs > 0;
  }

  /** Records what `load` found for `id` (nothing: `undefined`). */
  loaded(id: string, found: Loaded | undefined): void {
    const remembered = this.#loaded;
    remembered.delete(id);
    if (found === undefined) return;
    remembered.set(id, found);
    if (remembered.size > MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
  }

  /** Whether a touch of `id` to `expiresAt` may be skipped; forgets `id` either way. */
  skipTouch(id: string, expiresAt: number): boolean {
    return this.#closeEnough(this.#take(id), expiresAt);
  }

  /** Whether a save of `text` to `expiresAt` may be skipped (same data as loaded); forgets `id`. */
  skipSave(id: string, text: string, expiresAt: number): boolean {
    const loaded = this.#take(id);
    return this.#closeEnough(loaded, expiresAt) && sameJson(loaded!.text, text);
  }

  /** Forgets `id` (it was deleted or written). */
  forget(id: string): void {
    this.#loaded.delete(id);
  }

  /** The stored expiry is at most `touchAfterMs` short of the one asked for, and not past it. */
  #closeEnough(loaded: Loaded | undefined, expiresAt: number): boolean {
    return loaded !== undefined && loaded.expiresAt <= expiresAt && loaded.expiresAt >= expiresAt - this.#touchAfterMs;
  }

  #take(id: string): Loaded | undefined {
    const loaded = this.#loaded.get(id);
    if (loaded !== undefined) this.#loaded.delete(id);
    return loaded;
  }
}
