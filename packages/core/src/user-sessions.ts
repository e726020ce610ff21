import { assertSessionId, sessionKey, toMs, toUserId } from './session-codec.js';
import type {
  ClearForUserOptions,
  DumpedSession,
  DumpOptions,
  ListForUserOptions,
  SessionsById,
  UserSession,
} from './session-record.js';
import { wholeNumber } from './session-store-options.js';
import type { StoreContext } from './store-context.js';

/** Upper bound for `limit`, `offset` and `pageSize`. */
const MAX_PAGE = 1_000_000_000;

/**
 * The operations that answer "which sessions does this user have? sign them all out", plus
 * the whole-table reads (`dump`, `clearAll`). Every listing sees live sessions only, newest
 * first; a row that cannot be decoded is reported and left out.
 */
export class UserSessions {
  readonly #store: StoreContext;

  constructor(store: StoreContext) {
    this.#store = store;
  }

  /** Deletes the user's live sessions but `except`, and resolves how many it deleted. */
  async clearForUser(userId: string | number, options: ClearForUserOptions | undefined): Promise<number> {
    const id = toUserId(userId);
    const except = options?.except;
    if (except !== undefined) assertSessionId(except);
    const s = this.#store;
    const { affectedRows } = await s.run('clearSessionsForUser', s.queries.clearForUser, [
      id,
      s.time(s.now()),
      except === undefined ? '' : sessionKey(except),
    ]);
    return affectedRows;
  }

  /** The number of the user's live sessions (a session that cannot be decoded is not counted). */
  async countForUser(userId: string | number): Promise<number> {
    return (await this.handlesForUser(userId)).length;
  }

  /** The handles of the user's live sessions, newest first (a session that cannot be decoded is left out). */
  async handlesForUser(userId: string | number): Promise<string[]> {
    const id = toUserId(userId);
    const s = this.#store;
    const { rows } = await s.run<{ id: string; data: string }>('listSessionHandlesForUser', s.queries.idsForUser, [
      id,
      s.time(s.now()),
    ]);
    return rows.filter((row) => s.decode(row.data, row.id) !== null).map((row) => row.id);
  }

  /** The user's live sessions, newest first, with times and data. */
  async listForUser<Data>(
    userId: string | number,
    options: ListForUserOptions | undefined,
  ): Promise<UserSession<Data>[]> {
    const id = toUserId(userId);
    const limit = wholeNumber('limit', options?.limit, 100, 1, MAX_PAGE);
    const offset = wholeNumber('offset', options?.offset, 0, 0, MAX_PAGE);
    const s = this.#store;
    const { rows } = await s.run<{
      id: string;
      user_id: string;
      data: string;
      expires_at: unknown;
      created_at: unknown;
      updated_at: unknown;
    }>('listSessionsForUser', s.queries.listForUser, [id, s.time(s.now()), limit, offset]);
    const sessions: UserSession<Data>[] = [];
    for (const row of rows) {
      const data = s.decode(row.data, row.id)?.data ?? null;
      if (data === null) continue;
      sessions.push({
        handle: row.id,
        userId: row.user_id,
        createdAt: toMs(row.created_at),
        updatedAt: toMs(row.updated_at),
        expiresAt: toMs(row.expires_at),
        data: data as Data,
      });
    }
    return sessions;
  }

  /** Every live session, keyed by handle. */
  async all<Data>(): Promise<SessionsById<Data>> {
    const s = this.#store;
    const { rows } = await s.run<{ id: string; data: string }>('all', s.queries.all, [s.time(s.now())]);
    const result: SessionsById<Data> = {};
    for (const row of rows) {
      const data = s.decode(row.data, row.id)?.data ?? null;
      // defineProperty: a key such as "__proto__" must become a key, not a prototype.
      if (data !== null)
        Object.defineProperty(result, row.id, { value: data, enumerable: true, writable: true, configurable: true });
    }
    return result;
  }

  /** The number of live sessions. */
  async count(): Promise<number> {
    const s = this.#store;
    const { rows } = await s.run<{ count: unknown }>('length', s.queries.length, [s.time(s.now())]);
    return Number(rows[0]?.count ?? 0);
  }

  /** Deletes every session, live or expired, and resolves how many it deleted. */
  async clearAll(): Promise<number> {
    const s = this.#store;
    const { affectedRows } = await s.run('clearAll', s.queries.clear, []);
    return affectedRows;
  }

  /** Every live session, read in pages of `pageSize` ordered by id. */
  async *dump<Data>(options?: DumpOptions): AsyncGenerator<DumpedSession<Data>, void, undefined> {
    const pageSize = wholeNumber('pageSize', options?.pageSize, 1000, 1, MAX_PAGE);
    const s = this.#store;
    const now = s.time(s.now());
    let afterId = '';
    for (;;) {
      const { rows } = await s.run<{ id: string; user_id: string | null; data: string; expires_at: unknown }>(
        'dump',
        s.queries.dumpPage,
        [now, afterId, pageSize],
      );
      for (const row of rows) {
        const data = s.decode(row.data, row.id)?.data ?? null;
        if (data !== null) {
          yield { handle: row.id, userId: row.user_id, expiresAt: toMs(row.expires_at), data: data as Data };
        }
      }
      if (rows.length < pageSize) return;
      afterId = rows[rows.length - 1]!.id;
    }
  }
}
