import { reportError, type SessionRecordStore, SessionStoreError } from '@sessionsql/core';

/**
 * Sends an error that no caller can receive (a write `@hono/session` started without waiting
 * for it) where the record store sends its own: `onError`, else its `'error'` listeners, else
 * a process warning. Never throws. An error other than a `SessionStoreError` (a session that
 * cannot be encoded as JSON) is wrapped in one. Messages never carry session ids or data.
 */
export function reportStoreError(records: SessionRecordStore, operation: string, error: unknown): void {
  const reported =
    error instanceof SessionStoreError
      ? error
      : new SessionStoreError(
          error instanceof TypeError ? 'DATA_REJECTED' : 'QUERY_FAILED',
          `sessionsql: ${operation}() from @hono/session failed, nothing was written: ${(error as Error)?.message ?? String(error)}`,
          { cause: error },
        );
  reportError(reported, records.options.onError, records);
}
