import { accessSync, constants } from 'node:fs';
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

/**
 * Query parameters passed on to pg, each with the meaning libpq gives it (`connect_timeout` is
 * read by `@sessionsql/postgres`, as pg's pool does not); anything else is rejected rather
 * than silently ignored.
 */
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
/**
 * sslmode → what it does: libpq's meaning, except `no-verify` (pg's: encrypted, nothing
 * checked). `prefer` and `allow` are refused: pg cannot fall back between encrypted and plain
 * connections as libpq does.
 */
const SSL_MODES: { readonly [mode: string]: string } = {
  disable: 'no encryption',
  require: 'encrypted; the certificate is checked only when sslrootcert is given (then as verify-ca)',
  'verify-ca': 'encrypted; the certificate must be signed by sslrootcert',
  'verify-full': 'encrypted; the certificate must be trusted and name the host',
  'no-verify': 'encrypted; nothing is checked',
};
/** The modes whose libpq meaning pg gives only with its libpq-compatible reading of the URL. */
const LIBPQ_SSL_MODES = new Set(['require', 'verify-ca']);

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
  if (/[?#]/.test(rest)) throw invalid(`${scheme} URLs take no query parameters or fragments`);
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
  const params = parsed.searchParams;
  for (const key of new Set(params.keys())) {
    if (key !== 'schema' && !POSTGRES_PARAMETERS.has(key)) {
      throw invalid(
        `the query parameter "${key}" is not supported; use schema, ${[...POSTGRES_PARAMETERS].join(', ')}`,
      );
    }
    if (params.getAll(key).length > 1) throw invalid(`the query parameter "${key}" is given more than once`);
  }
  if (params.has('schema')) {
    schemaName = params.get('schema')!;
    params.delete('schema');
  }
  checkPostgresParameters(params);
  return { backend: 'postgres', connectionString: parsed.toString(), schemaName };
}

/**
 * Checks the parameters pg reads whose values it would misread or ignore, and rewrites them so
 * that pg gives each its libpq meaning; throws for a value that cannot be honoured.
 */
function checkPostgresParameters(params: URLSearchParams): void {
  const sslmode = params.get('sslmode');
  const ssl = params.get('ssl');
  if (sslmode !== null && ssl !== null) throw invalid('give one of sslmode and ssl, not both');
  if (sslmode === 'prefer' || sslmode === 'allow') {
    throw invalid(
      `sslmode=${sslmode} cannot be honoured: pg never falls back between encrypted and plain connections. Use sslmode=require (or verify-full) to always encrypt, or sslmode=disable`,
    );
  }
  if (sslmode !== null && !Object.hasOwn(SSL_MODES, sslmode)) {
    throw invalid(
      `sslmode=${sslmode} is not one of ${Object.entries(SSL_MODES)
        .map(([mode, meaning]) => `${mode} (${meaning})`)
        .join(', ')}`,
    );
  }
  if (sslmode === 'verify-ca' && !params.has('sslrootcert')) {
    throw invalid(
      'sslmode=verify-ca needs sslrootcert=/path/to/ca.pem, the authority the certificate must be signed by',
    );
  }
  // pg reads require and verify-ca as verify-full unless asked for libpq's meaning (pg 8.15+).
  if (sslmode !== null && LIBPQ_SSL_MODES.has(sslmode)) params.set('uselibpqcompat', 'true');
  if (ssl !== null) {
    // pg takes any other string, "false" included, as "use SSL".
    const on = { true: 'true', '1': 'true', false: '0', '0': '0', 'no-verify': 'no-verify' }[ssl];
    if (on === undefined) throw invalid(`ssl=${ssl} is not one of true, 1, false, 0, no-verify`);
    params.set('ssl', on);
  }
  for (const key of ['sslrootcert', 'sslcert', 'sslkey']) {
    const path = params.get(key);
    if (path === null) continue;
    if (sslmode === 'disable' || params.get('ssl') === '0') throw invalid(`${key} needs SSL, but SSL is turned off`);
    try {
      accessSync(path, constants.R_OK);
    } catch {
      throw invalid(`${key}=${path} is not a file this process can read`);
    }
  }
  if (params.has('sslcert') !== params.has('sslkey')) {
    throw invalid('sslcert and sslkey go together: the client certificate and its private key');
  }
  const encoding = params.get('client_encoding');
  if (encoding !== null && !/^utf-?8$/i.test(encoding)) {
    throw invalid(
      `client_encoding=${encoding} cannot be used: sessions are stored as UTF-8 JSON; use UTF8 or leave it out`,
    );
  }
  const port = params.get('port');
  if (port !== null && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    throw invalid(`port=${port} is not a port number`);
  }
  if (params.get('host') === '') throw invalid('host= is empty');
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
