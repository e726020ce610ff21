import { fileURLToPath } from 'node:url';

/** Where a session database URL points. */
export type SessionDbTarget =
  | { readonly backend: 'sqlite'; readonly database: string }
  | {
      readonly backend: 'postgres';
      /** The URL for pg, without sessionsql's own parameters (`schema`). */
      readonly connectionString: string;
      /** From the `schema` query parameter. */
      readonly schemaName: string | undefined;
    };

/** The URL forms {@link parseSessionDbUrl} accepts, for error messages. */
export const ACCEPTED_URL_FORMS =
  'sqlite:relative/path.db, sqlite:/absolute/path.db, sqlite:///absolute/path.db, sqlite::memory:, file:///absolute/path.db, postgres://user:password@host:5432/database or postgresql://…';

/** Query parameters passed on to pg; anything else is rejected rather than silently ignored. */
const POSTGRES_PARAMETERS = new Set([
  'sslmode',
  'ssl',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'application_name',
  'options',
  'connect_timeout',
  'client_encoding',
  'host',
  'port',
]);
const SSL_MODES = new Set(['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify']);

function invalid(why: string): TypeError {
  return new TypeError(`sessionsql: invalid session database URL: ${why}. Accepted forms: ${ACCEPTED_URL_FORMS}.`);
}

/**
 * The URL with its password replaced by `***`, safe to print. A string that does not parse as
 * a URL is not echoed at all.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    for (const key of ['password', 'sslpassword']) {
      if (parsed.searchParams.has(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    return '(a URL that cannot be parsed)';
  }
}

function sqlitePath(rest: string, scheme: string): string {
  if (/[?#]/.test(rest)) throw invalid(`${scheme}: URLs take no query parameters or fragments`);
  let path: string;
  if (rest.startsWith('///')) path = rest.slice(2);
  else if (rest.startsWith('//')) {
    throw invalid(`"${scheme}//…" names a host; use ${scheme}relative/path.db or ${scheme}///absolute/path.db`);
  } else path = rest;
  try {
    path = decodeURIComponent(path);
  } catch {
    throw invalid(`the path in the ${scheme} URL has a broken %-escape`);
  }
  if (path === '') throw invalid(`the ${scheme} URL has no file path`);
  return path;
}

/**
 * Parses a session database URL and picks the backend from its scheme. Throws a `TypeError`
 * naming the accepted forms for anything else; never falls back from one backend to another.
 *
 * @example parseSessionDbUrl('sqlite:data/sessions.db') // { backend: 'sqlite', database: 'data/sessions.db' }
 * @example parseSessionDbUrl('postgres://app@db/app?schema=auth') // { backend: 'postgres', schemaName: 'auth', … }
 */
export function parseSessionDbUrl(url: string): SessionDbTarget {
  if (typeof url !== 'string' || url.trim() === '') throw invalid('it is empty');
  const trimmed = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === undefined) throw invalid('it has no scheme');
  const rest = trimmed.slice(scheme.length + 1);

  const parse = URL_SCHEMES[scheme];
  if (parse === undefined || !Object.hasOwn(URL_SCHEMES, scheme)) {
    throw invalid(`the scheme "${scheme}:" is not supported`);
  }
  return parse(trimmed, scheme, rest);
}

function sqliteUrl(_url: string, _scheme: string, rest: string): SessionDbTarget {
  if (rest === ':memory:') return { backend: 'sqlite', database: ':memory:' };
  return { backend: 'sqlite', database: sqlitePath(rest, 'sqlite:') };
}

function fileUrl(url: string, _scheme: string, rest: string): SessionDbTarget {
  if (!rest.startsWith('//')) return { backend: 'sqlite', database: sqlitePath(rest, 'file:') };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('the file: URL cannot be parsed');
  }
  if (parsed.search !== '' || parsed.hash !== '') throw invalid('file: URLs take no query parameters or fragments');
  try {
    return { backend: 'sqlite', database: fileURLToPath(parsed) };
  } catch (cause) {
    throw invalid(`the file: URL is not a local file path (${(cause as Error).message})`);
  }
}

function postgresUrl(url: string, scheme: string): SessionDbTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Never echo it: the unparsable string may hold a password.
    throw invalid(`the ${scheme}: URL cannot be parsed (check that special characters in the password are %-encoded)`);
  }
  if (parsed.hostname === '' && !parsed.searchParams.has('host')) {
    throw invalid(`the ${scheme}: URL has no host (${redactUrl(url)})`);
  }
  let schemaName: string | undefined;
  for (const [key, value] of [...parsed.searchParams]) {
    if (key === 'schema') {
      schemaName = value;
      parsed.searchParams.delete('schema');
    } else if (key === 'sslmode' && !SSL_MODES.has(value)) {
      throw invalid(`sslmode=${value} is not one of ${[...SSL_MODES].join(', ')}`);
    } else if (!POSTGRES_PARAMETERS.has(key)) {
      throw invalid(
        `the query parameter "${key}" is not supported; use schema, ${[...POSTGRES_PARAMETERS].join(', ')}`,
      );
    }
  }
  return { backend: 'postgres', connectionString: parsed.toString(), schemaName };
}

/**
 * URL scheme → parser: the one table to extend when a dialect adds a URL form. Each parser
 * gets the trimmed URL, its lower-case scheme and what follows the colon.
 */
const URL_SCHEMES: { readonly [scheme: string]: (url: string, scheme: string, rest: string) => SessionDbTarget } = {
  sqlite: sqliteUrl,
  file: fileUrl,
  postgres: postgresUrl,
  postgresql: postgresUrl,
};
