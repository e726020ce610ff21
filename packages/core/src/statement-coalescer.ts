import type { ExecuteResult, PreparedQuery, SessionBackend } from './session-backend.js';
import type { SessionQueries } from './session-queries.js';

/** The operations that can share one statement, each with the batch statement that does it. */
export type BatchKind = 'get' | 'set' | 'update' | 'touch' | 'destroy';

/**
 * How one operation joins a batch: its kind, the key of its session, and its own values in
 * the column order of the batch statement (see the `…Many` statements of `SessionQueries`).
 */
export interface BatchPart {
  readonly kind: BatchKind;
  readonly key: string;
  readonly args: readonly unknown[];
}

/**
 * Statements of one kind in flight before the next calls wait to go together. One measured
 * best (bench, 2 cores, c=64 gets: 20,000/s against 16,000/s with two and 11,000/s one by one):
 * the larger batches cost the server and the driver less per operation.
 */
const MAX_IN_FLIGHT = 1;
/** Most operations in one batch statement. */
const MAX_BATCH = 500;

interface Waiting {
  readonly query: PreparedQuery;
  readonly values: readonly unknown[];
  readonly part: BatchPart;
  resolve(result: ExecuteResult<any>): void;
  reject(error: unknown): void;
}

interface KindState {
  readonly batch: PreparedQuery;
  inFlight: number;
  queue: Waiting[];
}

const BATCH_QUERIES: { readonly [K in BatchKind]: keyof SessionQueries } = {
  get: 'getMany',
  set: 'setMany',
  update: 'updateMany',
  touch: 'touchMany',
  destroy: 'destroyMany',
};

const noop = () => undefined;

/**
 * Runs the store's per-session statements on a backend with several connections (PostgreSQL),
 * coalescing concurrent operations of one kind into one statement while a statement of that
 * kind is in flight: no timer and no added latency when one request is in flight (it runs
 * its own statement at once), one round trip and one statement execution for many when many
 * are.
 *
 * - Every caller gets its own result or its own error, exactly once. A batch that fails for
 *   another reason than the connection is run again one by one, so that one session the
 *   database refuses fails alone.
 * - Operations on one session run in call order: one waits for the previous operation on the
 *   same key to settle, so a set followed by a get of the same id sees the set (and one key is
 *   never twice in a batch).
 * - A kind the backend has no batch statement for runs as before.
 */
export class StatementCoalescer {
  readonly #db: SessionBackend;
  readonly #now: () => unknown;
  readonly #kinds = new Map<BatchKind, KindState>();
  readonly #tails = new Map<string, Promise<void>>();

  /**
   * @param db the backend; statements go to its `execute`.
   * @param queries the store's batch statements (the `…Many` ones): each present turns batching on for its kind.
   * @param now the time bound as a batch's `now`, as the backend binds it.
   */
  constructor(db: SessionBackend, queries: Partial<SessionQueries>, now: () => unknown) {
    this.#db = db;
    this.#now = now;
    for (const [kind, name] of Object.entries(BATCH_QUERIES) as [BatchKind, keyof SessionQueries][]) {
      const batch = queries[name];
      if (batch !== undefined) this.#kinds.set(kind, { batch, inFlight: 0, queue: [] });
    }
  }

  /** Whether any kind is batched (a backend without batch statements gets none of this). */
  get active(): boolean {
    return this.#kinds.size > 0;
  }

  /** Runs `query` with `values`, or `part` of a batch with others of its kind; rejects with the driver's error. */
  execute<Row>(query: PreparedQuery, values: readonly unknown[], part?: BatchPart): Promise<ExecuteResult<Row>> {
    const state = part === undefined ? undefined : this.#kinds.get(part.kind);
    if (state === undefined) return this.#db.execute<Row>(query, values);
    const key = part!.key;
    const previous = this.#tails.get(key);
    const start = () => this.#enqueue(state, query, values, part!);
    const result = previous === undefined ? start() : previous.then(start);
    const tail = result.then(noop, noop);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }

  #enqueue(state: KindState, query: PreparedQuery, values: readonly unknown[], part: BatchPart): Promise<any> {
    if (state.inFlight < MAX_IN_FLIGHT) {
      state.inFlight++;
      return this.#db.execute(query, values).finally(() => this.#settled(state));
    }
    return new Promise((resolve, reject) => {
      state.queue.push({ query, values, part, resolve, reject });
    });
  }

  #settled(state: KindState): void {
    state.inFlight--;
    if (state.queue.length === 0) return;
    const members = state.queue.length <= MAX_BATCH ? state.queue : state.queue.slice(0, MAX_BATCH);
    state.queue = state.queue.length <= MAX_BATCH ? [] : state.queue.slice(MAX_BATCH);
    state.inFlight++;
    const done = () => this.#settled(state);
    if (members.length === 1) {
      const only = members[0]!;
      this.#db.execute(only.query, only.values).then(
        (result) => {
          done();
          only.resolve(result);
        },
        (error: unknown) => {
          done();
          only.reject(error);
        },
      );
      return;
    }
    this.#db.execute<{ id: string }>(state.batch, batchValues(members, this.#now())).then(
      (result) => {
        done();
        deliver(members, result);
      },
      (error: unknown) => {
        done();
        if (this.#db.isConnectionError(error)) {
          for (const member of members) member.reject(error);
          return;
        }
        // One refused session must not fail the others: each runs alone and gets its own outcome.
        for (const member of members) this.#db.execute(member.query, member.values).then(member.resolve, member.reject);
      },
    );
  }
}

/** `[keys, …one array per column of the parts' args, now]`; a delete has no `now`. */
function batchValues(members: readonly Waiting[], now: unknown): unknown[] {
  const kind = members[0]!.part.kind;
  const columns: unknown[][] = [members.map((m) => m.part.key)];
  const width = members[0]!.part.args.length;
  for (let i = 0; i < width; i++) columns.push(members.map((m) => m.part.args[i]));
  return kind === 'destroy' ? columns : [...columns, now];
}

/** Each member's share of a batch's result, shaped as its own statement's result would be. */
function deliver(members: readonly Waiting[], result: ExecuteResult<{ id: string }>): void {
  const kind = members[0]!.part.kind;
  if (kind === 'get') {
    const rows = new Map(result.rows.map((row) => [row.id, row]));
    for (const member of members) {
      const row = rows.get(member.part.key);
      member.resolve({ rows: row === undefined ? [] : [row], affectedRows: 0 });
    }
    return;
  }
  if (kind === 'update' || kind === 'touch') {
    const changed = new Set(result.rows.map((row) => row.id));
    for (const member of members) member.resolve({ rows: [], affectedRows: changed.has(member.part.key) ? 1 : 0 });
    return;
  }
  for (const member of members) member.resolve({ rows: [], affectedRows: 1 });
}
