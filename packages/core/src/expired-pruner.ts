import { CompiledQuery } from 'kysely';
import type { StoreContext } from './store-context.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

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
    const batch = store.options.pruneBatchSize;
    const { sql } = store.queries.deleteExpiredBatch;
    const outcome = await store.backend.withLock(store.lockName('prune'), false, async (db) => {
      let deleted = 0;
      for (;;) {
        let affected: number;
        try {
          const result = await db.executeQuery(CompiledQuery.raw(sql, [now, batch]));
          affected = Number(result.numAffectedRows ?? 0);
        } catch (cause) {
          throw store.errors.query('deleteExpired', cause);
        }
        deleted += affected;
        onBatch?.(deleted);
        if (affected < batch || store.closing()) return deleted;
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
