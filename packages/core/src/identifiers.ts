const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Longest accepted table name: PostgreSQL cuts identifiers at 63 bytes, and the store derives
 * `<table>_migrations_lock` and index names from it.
 */
export const MAX_TABLE_NAME_LENGTH = 40;

/**
 * Throws a `TypeError` unless `value` is a plain SQL identifier (letters, digits, underscore,
 * not starting with a digit) of at most `maxLength` characters. Table and schema names are
 * spliced into SQL as identifiers, so only this safe subset is accepted.
 */
export function assertIdentifier(option: string, value: unknown, maxLength: number): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value) || value.length > maxLength) {
    throw new TypeError(
      `sessionsql: option \`${option}\` must be 1 to ${maxLength} letters, digits or underscores, not starting with a digit (got ${JSON.stringify(value)}). Use a name such as "sessions".`,
    );
  }
  return value;
}
