/**
 * The README's "Adding a dialect" list stays true: every file it names exists, and every
 * dialect package has its row in each table the list names.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = /### Adding a dialect\n([\s\S]*?)\n#{2,3} /.exec(readme)?.[1] ?? '';
/** Packages that are not dialects. */
const NOT_DIALECTS = new Set(['core', 'sessionsql']);
const dialectPackages = readdirSync(join(root, 'packages')).filter((name) => !NOT_DIALECTS.has(name));

describe('the README list of what a new dialect touches', () => {
  it('is there and names only files that exist', () => {
    expect(section).not.toBe('');
    const paths = [
      ...section.matchAll(/`((?:packages|test)\/[^`<]+?\.(?:ts|json))`|`(tsconfig\.json|package\.json)`/g),
    ].map((m) => m[1] ?? m[2]!);
    expect(paths.length).toBeGreaterThanOrEqual(6);
    for (const path of paths) expect(existsSync(join(root, path)), path).toBe(true);
  });

  it('has a row for every dialect package in each table it names', () => {
    expect(dialectPackages.length).toBeGreaterThanOrEqual(2);
    const files = {
      'packages/sessionsql/src/dialect-loaders.ts': (name: string) => `'@sessionsql/${name}'`,
      'packages/sessionsql/src/session-db-url.ts': (name: string) => `backend: '${name}'`,
      'test/dialects.ts': (name: string) => new RegExp(`^\\s+'?${name}(-\\w+)?'?: `, 'm'),
      'test/dialects-env.ts': (name: string) => `'${name}`,
      'tsconfig.json': (name: string) => `./packages/${name}`,
      'packages/sessionsql/tsconfig.json': (name: string) => `../${name}`,
      'packages/sessionsql/package.json': (name: string) => `"@sessionsql/${name}"`,
    };
    for (const [file, row] of Object.entries(files)) {
      expect(section, `the README list names ${file}`).toContain(`\`${file}\``);
      const text = readFileSync(join(root, file), 'utf8');
      for (const name of dialectPackages) {
        const expected = row(name);
        if (typeof expected === 'string') expect(text, `${file} has ${name}`).toContain(expected);
        else expect(text, `${file} has ${name}`).toMatch(expected);
      }
    }
  });
});
