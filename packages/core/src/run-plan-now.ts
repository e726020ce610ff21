import type { Plan } from './operation-plans.js';
import type { ExecuteResult, SessionBackend } from './session-backend.js';
import type { Callback } from './settle.js';
import type { StatementCoalescer } from './statement-coalescer.js';
import type { StoreErrors } from './store-errors.js';

/** What a callback call returns: the outcome goes to the callback. */
const RESOLVED: Promise<undefined> = Promise.resolve(undefined);

/**
 * Runs a planned operation of a ready store for a waiting callback without a promise chain
 * of ours: at once when the backend runs statements on this thread (SQLite), else from the
 * driver's promise to the callback (PostgreSQL, through `statements`, which may coalesce it
 * with others). The outcome (a value, a `TypeError` from
 * planning, or a `SessionStoreError`) reaches the callback exactly once, on a later tick; the
 * returned promise resolves at once and never rejects.
 */
export function runPlanNow<T>(
  db: SessionBackend,
  statements: StatementCoalescer,
  errors: StoreErrors,
  operation: string,
  plan: () => Plan<T>,
  callback: Callback<T>,
): Promise<undefined> {
  let value: T;
  try {
    const step = plan();
    if (step.query === undefined) value = step.value;
    else if (db.executeSync !== undefined) {
      let result: ExecuteResult<any>;
      try {
        // Called on the backend, never detached: a backend written as a class needs its `this`.
        result = db.executeSync(step.query, step.values);
        if (result.affectedRows === 0 && step.otherwise !== undefined) {
          result = db.executeSync(step.otherwise.query, step.otherwise.values);
        }
      } catch (cause) {
        throw errors.query(operation, cause);
      }
      value = step.finish(result);
    } else {
      const { otherwise } = step;
      const first = statements.execute(step.query, step.values, step.batch);
      (otherwise === undefined
        ? first
        : first.then((result) =>
            result.affectedRows === 0 ? statements.execute(otherwise.query, otherwise.values) : result,
          )
      ).then(
        (result) => {
          let finished: T;
          try {
            finished = step.finish(result);
          } catch (error) {
            process.nextTick(callback, error);
            return;
          }
          process.nextTick(callback, null, finished);
        },
        (cause: unknown) => process.nextTick(callback, errors.query(operation, cause)),
      );
      return RESOLVED;
    }
  } catch (error) {
    process.nextTick(callback, error);
    return RESOLVED;
  }
  process.nextTick(callback, null, value);
  return RESOLVED;
}
