import { describe, expect, it } from 'vitest';
import { parseSessionDbUrl, redactUrl } from './session-db-url.js';

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
    ['postgres://u@db/app?sslmode=require&schema=s1', 'postgres://u@db/app?sslmode=require', 's1'],
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
    ['postgres://u@db/app?sslmode=sometimes', /sslmode=sometimes/],
    ['postgres://u@db/app?pool_max=5', /"pool_max" is not supported/],
  ])('rejects %j naming the accepted forms', (url, reason) => {
    expect(() => parseSessionDbUrl(url)).toThrow(TypeError);
    expect(() => parseSessionDbUrl(url)).toThrow(reason);
    expect(() => parseSessionDbUrl(url)).toThrow(/Accepted forms: sqlite:relative\/path\.db.*postgres:\/\//);
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
