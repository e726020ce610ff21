import { CompiledQuery } from 'kysely';
import type { StoreContext } from './store-context.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Longest one batch should hold the thread on a backend that runs statements on it (SQLite):
 * a batch that takes longer halves the next one, down to {@link MIN_BLOCKING_BATCH} rows, and
 * a quick one doubles it again, up to `pruneBatchSize`. At a million rows with random keys a
 * batch of 1,000 took 50 ms, every request waiting meanwhile.
 */
const MAX_BLOCKING_MS = 10;
const MIN_BLOCKING_BATCH = 50;

/**
 * Deletes expired sessions: on demand (`deleteExpired`) and in the background every
 * `pruneIntervalMs` ±50%, in batches of `pruneBatchSize` so that a large backlog never holds
 * one long lock. Expired sessions are never returned whether or not they were pruned yet.
 */
export class ExpiredPruner {
  readonly #store: StoreContext;
  #running: Promise<number> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(store: StoreContext) {
    this.#store = store;
    this.#schedule();
  }

  /**
   * Deletes expired sessions and resolves how many. One run at a time per store; across
   * processes a database-wide try-lock lets one prune while the others resolve 0 at once.
   */
  deleteExpired(onBatch?: (deletedSoFar: number) => void): Promise<number> {
    this.#running ??= this.#deleteExpired(onBatch).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops the background runs and waits for a running prune to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  async #deleteExpired(onBatch: ((deletedSoFar: number) => void) | undefined): Promise<number> {
    const store = this.#store;
    if (store.closing()) throw store.errors.closed('deleteExpired');
    await store.ready();
    const now = store.time(store.now());
    const largest = store.options.pruneBatchSize;
    const blocksThread = store.backend.executeSync !== undefined;
    const { sql } = store.queries.deleteExpiredBatch;
    const outcome = await store.backend.withLock(store.lockName('prune'), false, async (db) => {
      let deleted = 0;
      let batch = largest;
      for (;;) {
        let affected: number;
        const started = performance.now();
        try {
          const result = await db.executeQuery(CompiledQuery.raw(sql, [now, batch]));
          affected = Number(result.numAffectedRows ?? 0);
        } catch (cause) {
          throw store.errors.query('deleteExpired', cause);
        }
        deleted += affected;
        onBatch?.(deleted);
        if (affected < batch || store.closing()) return deleted;
        if (blocksThread) {
          const took = performance.now() - started;
          if (took > MAX_BLOCKING_MS) batch = Math.max(Math.min(MIN_BLOCKING_BATCH, largest), Math.floor(batch / 2));
          else if (took < MAX_BLOCKING_MS / 3) batch = Math.min(largest, batch * 2);
        }
        // Between batches other queries get their turn (better-sqlite3 runs on this thread).
        await nextTurn();
      }
    });
    return outcome.acquired ? outcome.value : 0;
  }

  #schedule(): void {
    const interval = this.#store.options.pruneIntervalMs;
    if (interval === false || this.#stopped) return;
    const delay = Math.round(interval * (0.5 + Math.random()));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.deleteExpired()
        .catch((cause: unknown) => {
          if (!this.#stopped) this.#store.report(this.#store.errors.prune(cause));
        })
        .finally(() => this.#schedule());
    }, delay);
    this.#timer.unref();
  }
}
