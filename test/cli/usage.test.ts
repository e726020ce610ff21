import { readFileSync, realpathSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN, ensureBinLink, run } from './cli-harness.js';

const COMMANDS = ['migrate', 'check', 'stats', 'prune', 'users', 'export', 'import', 'copy'];

describe('sessionsql usage', () => {
  it('is npm’s bin link to the package’s executable shim, a node script loading dist/cli/bin.js', () => {
    ensureBinLink();
    expect(realpathSync(BIN)).toMatch(/packages\/sessionsql\/bin\/sessionsql\.js$/);
    const shim = readFileSync(BIN, 'utf8');
    expect(shim.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(shim).toContain("import '../dist/cli/bin.js'");
    expect(statSync(realpathSync(BIN)).mode & 0o111).not.toBe(0);
  });

  it('--help lists every command and the exit codes', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const command of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(r.stdout).toMatch(/Exit codes:\n {2}0 +ok\n {2}1 +failure/);
  });

  it.each(COMMANDS)('%s --help has an example', async (command) => {
    const r = await run([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Example:\n {2}\$ sessionsql /);
    if (command !== 'users' && command !== 'copy') expect(r.stdout).toMatch(/--url <url>/);
  });

  it('an unknown command, an unknown flag, a missing URL and an unknown scheme exit 2', async () => {
    const unknown = await run(['bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command 'bogus'/);
    const flag = await run(['stats', '--bogus']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/unknown option '--bogus'/);
    const none = await run(['stats']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/pass --url <url> or set SESSION_DB_URL/);
    const scheme = await run(['stats', '--url', 'mysql://root:pw@db/app']);
    expect(scheme.code).toBe(2);
    expect(scheme.stderr).toMatch(/the scheme "mysql:" is not supported/);
    expect(scheme.stderr).not.toMatch(/pw@/);
  });
});
