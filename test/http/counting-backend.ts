import type { PreparedQuery, SessionBackend } from '@sessionsql/core';

/** A backend that counts the statements, and the write statements (insert, update, delete), run through it. */
export interface CountingBackend {
  /** Hand this to the store: the backend it wraps, with counting `execute`/`executeSync`. */
  readonly backend: SessionBackend;
  /** Write statements run since the last reset. */
  readonly writes: number;
  /** Statements of any kind run since the last reset. */
  readonly statements: number;
  reset(): void;
}

const WRITE = /^\s*(insert|update|delete)\b/i;

/**
 * Wraps `inner`: `execute` and `executeSync` count writes and delegate; everything else is
 * `inner`'s own, methods called on `inner` (never on the wrapper) so that `this` stays right.
 * `executeSync` stays absent when `inner` has none, as the store checks for it.
 */
export function countingBackend(inner: SessionBackend): CountingBackend {
  let writes = 0;
  let statements = 0;
  const count = (query: PreparedQuery) => {
    statements++;
    if (WRITE.test(query.sql)) writes++;
  };
  const overrides: Pick<SessionBackend, 'execute' | 'executeSync'> = {
    execute: (query, values) => {
      count(query);
      return inner.execute(query, values);
    },
    executeSync:
      inner.executeSync === undefined
        ? undefined
        : <Row>(query: PreparedQuery, values: readonly unknown[]) => {
            count(query);
            return inner.executeSync!<Row>(query, values);
          },
  };
  const backend = new Proxy(inner, {
    get(target, key) {
      if (key === 'execute' || key === 'executeSync') return overrides[key];
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    backend,
    get writes() {
      return writes;
    },
    get statements() {
      return statements;
    },
    reset() {
      writes = 0;
      statements = 0;
    },
  };
}
