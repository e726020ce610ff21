import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSessionDbUrl, redactUrl } from './session-db-url.js';

/** A file this process can read, for sslrootcert and friends. */
const readable = fileURLToPath(import.meta.url);

describe('parseSessionDbUrl', () => {
  it.each([
    ['sqlite:sessions.db', 'sessions.db'],
    ['sqlite:data/sub dir/s.db', 'data/sub dir/s.db'],
    ['sqlite:data/with%20space.db', 'data/with space.db'],
    ['sqlite:/var/lib/app/s.db', '/var/lib/app/s.db'],
    ['sqlite:///var/lib/app/s.db', '/var/lib/app/s.db'],
    ['sqlite::memory:', ':memory:'],
    ['SQLITE:s.db', 's.db'],
    ['file:///var/lib/app/s%20x.db', '/var/lib/app/s x.db'],
    ['file:relative/s.db', 'relative/s.db'],
    ['  sqlite:trimmed.db  ', 'trimmed.db'],
  ])('%s → SQLite %s', (url, database) => {
    expect(parseSessionDbUrl(url)).toEqual({ backend: 'sqlite', database });
  });

  it.each([
    ['postgres://u:p@db.internal:5432/app', 'postgres://u:p@db.internal:5432/app', undefined],
    ['postgresql://u@db/app', 'postgresql://u@db/app', undefined],
    ['postgres://u@db/app?schema=auth', 'postgres://u@db/app', 'auth'],
    // pg gives require and verify-ca their libpq meaning only when asked to.
    ['postgres://u@db/app?sslmode=require&schema=s1', 'postgres://u@db/app?sslmode=require&uselibpqcompat=true', 's1'],
    [
      `postgres://u@db/app?sslmode=verify-ca&sslrootcert=${readable}`,
      `postgres://u@db/app?sslmode=verify-ca&sslrootcert=${encodeURIComponent(readable).replace(/%2F/g, '%2F')}&uselibpqcompat=true`,
      undefined,
    ],
    ['postgres://u@db/app?sslmode=verify-full', 'postgres://u@db/app?sslmode=verify-full', undefined],
    ['postgres://u@db/app?sslmode=no-verify', 'postgres://u@db/app?sslmode=no-verify', undefined],
    ['postgres://u@db/app?sslmode=disable', 'postgres://u@db/app?sslmode=disable', undefined],
    // pg reads any ssl string but "0" as "use SSL", "false" included.
    ['postgres://u@db/app?ssl=false', 'postgres://u@db/app?ssl=0', undefined],
    ['postgres://u@db/app?ssl=1', 'postgres://u@db/app?ssl=true', undefined],
    ['postgres://u@db/app?client_encoding=UTF8', 'postgres://u@db/app?client_encoding=UTF8', undefined],
    ['postgres://u@db/app?host=10.0.0.2&port=6432', 'postgres://u@db/app?host=10.0.0.2&port=6432', undefined],
    [
      'postgres://u@db/app?application_name=web&connect_timeout=5',
      'postgres://u@db/app?application_name=web&connect_timeout=5',
      undefined,
    ],
  ])('%s → PostgreSQL', (url, connectionString, schemaName) => {
    expect(parseSessionDbUrl(url)).toEqual({ backend: 'postgres', connectionString, schemaName });
  });

  it.each([
    ['', /it is empty/],
    ['sessions.db', /no scheme/],
    ['mysql://u@h/db', /scheme "mysql:" is not supported/],
    ['redis://localhost', /not supported/],
    ['sqlite:', /no file path/],
    ['sqlite://host/s.db', /names a host/],
    ['sqlite:s.db?mode=ro', /no query parameters/],
    ['file:///s.db?x=1', /no query parameters/],
    ['file://remote-host/s.db', /not a local file path/],
    ['sqlite:bad%zz.db', /broken %-escape/],
    ['postgres://', /cannot be parsed|no host/],
    ['postgres:///app', /no host/],
    ['postgres://u@db/app?sslmode=sometimes', /sslmode=sometimes is not one of disable \(no encryption\), require/],
    ['postgres://u@db/app?sslmode=prefer', /sslmode=prefer cannot be honoured: pg never falls back/],
    ['postgres://u@db/app?sslmode=verify-ca', /sslmode=verify-ca needs sslrootcert/],
    ['postgres://u@db/app?sslmode=require&ssl=true', /one of sslmode and ssl, not both/],
    ['postgres://u@db/app?ssl=maybe', /ssl=maybe is not one of true, 1, false, 0, no-verify/],
    [
      'postgres://u@db/app?sslrootcert=/no/such/ca.pem',
      /sslrootcert=\/no\/such\/ca.pem is not a file this process can read/,
    ],
    [`postgres://u@db/app?sslcert=${readable}`, /sslcert and sslkey go together/],
    [`postgres://u@db/app?sslmode=disable&sslrootcert=${readable}`, /sslrootcert needs SSL, but SSL is turned off/],
    [
      'postgres://u@db/app?client_encoding=LATIN1',
      /client_encoding=LATIN1 cannot be used: sessions are stored as UTF-8/,
    ],
    ['postgres://u@db/app?port=fivefour', /port=fivefour is not a port number/],
    ['postgres://u@db/app?port=70000', /port=70000 is not a port number/],
    ['postgres://u@db/app?host=', /host= is empty/],
    ['postgres://u@db/app?sslmode=require&sslmode=disable', /"sslmode" is given more than once/],
    ['postgres://u@db/app?pool_max=5', /"pool_max" is not supported/],
    ['postgres://u@db/app?uselibpqcompat=true', /"uselibpqcompat" is not supported/],
  ])('rejects %j naming the accepted forms', (url, reason) => {
    expect(() => parseSessionDbUrl(url)).toThrow(TypeError);
    expect(() => parseSessionDbUrl(url)).toThrow(reason);
    expect(() => parseSessionDbUrl(url)).toThrow(/Accepted forms: sqlite:relative\/path\.db.*postgres:\/\//);
  });

  it('says "sqlite: URLs" once, with one colon', () => {
    expect(() => parseSessionDbUrl('sqlite:s.db?mode=ro')).toThrow(
      /: sqlite: URLs take no query parameters or fragments\./,
    );
    expect(() => parseSessionDbUrl('file:s.db#x')).toThrow(/: file: URLs take no query parameters/);
    let message = '';
    try {
      parseSessionDbUrl('sqlite:s.db?mode=ro');
    } catch (error) {
      message = (error as Error).message.split(' Accepted forms:')[0]!;
    }
    expect(message).toBe(
      'sessionsql: invalid session database URL: sqlite: URLs take no query parameters or fragments.',
    );
  });

  it('never echoes a password, even from a URL it cannot parse or accept', () => {
    for (const url of [
      'postgres://u:hunter2@db/app?pool_max=1',
      'postgres://u:hunter2@[bad/app',
      'postgres://u:hunter2@/app',
    ]) {
      let message = '';
      try {
        parseSessionDbUrl(url);
      } catch (err) {
        message = `${String(err)} ${(err as Error).stack}`;
      }
      expect(message).toContain('invalid session database URL');
      expect(message).not.toContain('hunter2');
    }
  });

  it('redacts passwords for printing', () => {
    expect(redactUrl('postgres://u:hunter2@db:5432/app')).toBe('postgres://u:***@db:5432/app');
    expect(redactUrl('postgres://u@db/app')).toBe('postgres://u@db/app');
    expect(redactUrl('not a url hunter2')).not.toContain('hunter2');
  });
});
