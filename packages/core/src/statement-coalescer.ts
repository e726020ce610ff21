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
/**
 * Longest a call waits behind a statement of its kind that has not answered: then the calls
 * waiting go as a statement of their own, so that one slow statement (a row lock, a lost
 * connection) never holds up the others longer than this, nor past the pool's own waits.
 */
const STALL_MS = 50;
/** Most operations in one batch statement. */
const MAX_BATCH = 500;
/**
 * SQLSTATE classes after which a batch is run again one operation at a time: the database
 * refused one operation's data (22: data exception, 23: integrity constraint), or rolled the
 * statement back for a reason a single-row statement does not have (40: deadlock between two
 * batches, serialization failure). Anything else would fail each operation alike.
 */
const RERUN_ONE_BY_ONE = /^(22|23|40)/;

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
  stallTimer: NodeJS.Timeout | undefined;
}

/** What runs before a new call on a session may start. */
interface KeyState {
  /** Settles once every call made so far on the key has settled. */
  all: Promise<void>;
  /** Settles once every write made so far on the key (and what it waited for) has settled. */
  writes: Promise<void> | undefined;
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
 * - Every caller gets its own result or its own error, exactly once. A batch the database
 *   refuses for one operation's data (or rolls back on a deadlock) is run again one operation
 *   at a time, so that one session the database refuses fails alone.
 * - Calls on one session take effect in call order: a write waits for every earlier call on
 *   its key, a read for every earlier write, so a set followed by a get of the same id sees the
 *   set, while parallel reads of one session still share a statement. (What a call plans, such
 *   as update or upsert, is decided when it is made.)
 * - Members of a batch go in key order, so two batches never lock rows in opposite orders.
 * - A kind the backend has no batch statement for runs one statement per call, as before.
 */
export class StatementCoalescer {
  readonly #db: SessionBackend;
  readonly #now: () => unknown;
  readonly #kinds = new Map<BatchKind, KindState>();
  readonly #keys = new Map<string, KeyState>();
  #pending = 0;
  #drained: (() => void) | undefined;

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
      if (batch !== undefined) this.#kinds.set(kind, { batch, inFlight: 0, queue: [], stallTimer: undefined });
    }
  }

  /** Whether any kind is coalesced: without it, operations need no batch parts. */
  get batching(): boolean {
    return this.#kinds.size > 0;
  }

  /** Runs `query` with `values`, or `part` of a batch with others of its kind; rejects with the driver's error. */
  execute<Row>(query: PreparedQuery, values: readonly unknown[], part?: BatchPart): Promise<ExecuteResult<Row>> {
    const state = part === undefined ? undefined : this.#kinds.get(part.kind);
    if (state === undefined) return this.#run<Row>(query, values);
    const key = part!.key;
    const isRead = part!.kind === 'get';
    const known = this.#keys.get(key);
    const after = isRead ? known?.writes : known?.all;
    const start = () => this.#enqueue(state, query, values, part!);
    const result: Promise<ExecuteResult<Row>> = after === undefined ? start() : after.then(start);
    const done = result.then(noop, noop);
    const all = known === undefined || !isRead ? done : Promise.all([known.all, done]).then(noop);
    const entry: KeyState = { all, writes: isRead ? known?.writes : done };
    this.#keys.set(key, entry);
    this.#pending++;
    void all.then(() => {
      if (this.#keys.get(key) === entry) this.#keys.delete(key);
    });
    void done.then(() => {
      if (--this.#pending === 0) this.#drained?.();
    });
    return result;
  }

  /** Resolves once every call made so far has settled (for `close()`). */
  drain(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.#drained;
      this.#drained = () => {
        this.#drained = undefined;
        previous?.();
        resolve();
      };
    });
  }

  /** `db.execute`, with a synchronous throw turned into a rejection. */
  #run<Row>(query: PreparedQuery, values: readonly unknown[]): Promise<ExecuteResult<Row>> {
    try {
      return this.#db.execute<Row>(query, values);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #enqueue(state: KindState, query: PreparedQuery, values: readonly unknown[], part: BatchPart): Promise<any> {
    if (state.inFlight < MAX_IN_FLIGHT && state.queue.length === 0) {
      state.inFlight++;
      return this.#run(query, values).finally(() => this.#settled(state));
    }
    return new Promise((resolve, reject) => {
      state.queue.push({ query, values, part, resolve, reject });
      state.stallTimer ??= setTimeout(() => {
        state.stallTimer = undefined;
        this.#send(state);
      }, STALL_MS).unref();
    });
  }

  #settled(state: KindState): void {
    state.inFlight--;
    if (state.inFlight < MAX_IN_FLIGHT) this.#send(state);
  }

  /** Sends what waits in the queue of `state` as one statement (if anything waits). */
  #send(state: KindState): void {
    if (state.queue.length === 0) return;
    if (state.stallTimer !== undefined) {
      clearTimeout(state.stallTimer);
      state.stallTimer = undefined;
    }
    const members = state.queue.length <= MAX_BATCH ? state.queue : state.queue.slice(0, MAX_BATCH);
    state.queue = state.queue.length <= MAX_BATCH ? [] : state.queue.slice(MAX_BATCH);
    state.inFlight++;
    let sent: Promise<ExecuteResult<{ id: string }>>;
    if (members.length === 1) sent = this.#run(members[0]!.query, members[0]!.values);
    else {
      members.sort((a, b) => (a.part.key < b.part.key ? -1 : a.part.key > b.part.key ? 1 : 0));
      try {
        sent = this.#run(state.batch, batchValues(members, this.#now()));
      } catch (error) {
        // The clock or the time encoding threw: no statement went out.
        sent = Promise.reject(error);
      }
    }
    sent.then(
      (result) => {
        this.#settled(state);
        if (members.length === 1) members[0]!.resolve(result);
        else deliver(members, result);
      },
      (error: unknown) => {
        this.#settled(state);
        if (members.length > 1 && this.#rerunOneByOne(error)) void this.#oneByOne(members);
        else for (const member of members) member.reject(error);
      },
    );
  }

  #rerunOneByOne(error: unknown): boolean {
    if (this.#db.isConnectionError(error)) return false;
    return this.#db.isDataRejection(error) || RERUN_ONE_BY_ONE.test(String((error as { code?: unknown })?.code));
  }

  /** Each member alone, one after the other (rare: a batch the database refused for one of them). */
  async #oneByOne(members: readonly Waiting[]): Promise<void> {
    for (const member of members) {
      try {
        member.resolve(await this.#run(member.query, member.values));
      } catch (error) {
        member.reject(error);
      }
    }
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

/**
 * Each member's share of a batch's result, shaped as its own statement's result would be (a
 * get's row; whether an update or touch changed its row). Sets and deletes report one row
 * affected: nothing reads their count.
 */
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
