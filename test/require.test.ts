/** The packages are ESM and must also load with require() on Node >= 20.19. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('packages load with require()', () => {
  for (const [name, exported] of [
    ['@sessionsql/core', 'SqlSessionStore'],
    ['@sessionsql/sqlite', 'SqliteSessionStore'],
    ['@sessionsql/postgres', 'PostgresSessionStore'],
    ['sessionsql', 'DefaultSessionStore'],
  ] as const) {
    it(`require('${name}')`, () => {
      const out = execFileSync(
        process.execPath,
        ['-e', `console.log(typeof require(${JSON.stringify(name)}).${exported})`],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      expect(out.trim()).toBe('function');
    });
  }
});
