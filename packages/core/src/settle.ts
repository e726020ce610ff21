/** Node-style callback accepted by every store method next to the returned promise. */
export type Callback<T> = (error: unknown, value?: T) => void;

/**
 * Delivers the outcome of `promise` exactly once: to `callback` when one is given (and then
 * the returned promise never rejects), otherwise through the returned promise.
 */
export function settle<T>(promise: Promise<T>, callback: Callback<T> | undefined): Promise<T> | Promise<undefined> {
  if (typeof callback !== 'function') return promise;
  // The callback runs outside the promise chain so that a throw inside it surfaces as the
  // caller's own exception instead of becoming an unhandled rejection or a second callback.
  return promise.then(
    (value) => {
      process.nextTick(callback, null, value);
      return undefined;
    },
    (error: unknown) => {
      process.nextTick(callback, error);
      return undefined;
    },
  );
}
