import { type SessionRecordStore, SessionStoreError, sessionMigrations } from '@sessionsql/core';

/** The schema state of a session table. */
export interface MigrationState {
  /** Migrations applied, oldest first (empty when there is no table yet). */
  readonly applied: readonly string[];
  /** Migrations this version of sessionsql has and the table lacks. */
  readonly pending: readonly string[];
}

/** Every migration this version knows, oldest first. */
export const KNOWN_MIGRATIONS: readonly string[] = Object.keys(
  sessionMigrations({ schema: undefined, table: 'sessions' }, { columnTypes: {} as never, partialIndexes: false }),
).sort();

/** The table's applied and pending migrations; a table that is not there has every one pending. */
export async function migrationState(store: SessionRecordStore): Promise<MigrationState> {
  let applied: readonly string[] = [];
  try {
    applied = await store.table.migrations();
  } catch (error) {
    if (error instanceof SessionStoreError && error.code === 'CONNECTION_FAILED') throw error;
  }
  return { applied, pending: KNOWN_MIGRATIONS.filter((name) => !applied.includes(name)) };
}

/** The fix to print after a failure, from the error's own message or what it means here. */
export function fixFor(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  if (error instanceof SessionStoreError && /no such table|does not exist/i.test(message)) {
    return 'the session table is not there: run `sessionsql migrate` (or start the app with autoMigrate).';
  }
  return message.replace(/^sessionsql: /, '');
}
