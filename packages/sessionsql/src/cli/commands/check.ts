import { randomUUID } from 'node:crypto';
import type { SessionRecordStore } from '@sessionsql/core';
import type { Command } from 'commander';
import { redactUrl } from '../../session-db-url.js';
import { CliFailure, UsageError } from '../exit-codes.js';
import { type DbFlags, openStore, targetOf, withDbFlags } from '../open-store.js';
import { line, paint, since } from '../output.js';

/** One step of the check: its name and what it does; throws to fail. */
type Step = readonly [name: string, run: () => Promise<string | undefined>];

/**
 * `sessionsql check`: connects, reports the migration state, then writes, reads, touches and
 * deletes a probe session under a random id, printing each step's latency. Nothing is left
 * behind.
 */
export function checkCommand(program: Command): void {
  withDbFlags(program.command('check'))
    .description('Check that the session table works: connect, migration state, write, read, touch, delete.')
    .addHelpText('after', '\nExample:\n  $ sessionsql check --url sqlite:data/sessions.db')
    .action(async (flags: DbFlags) => {
      targetOf(flags.url);
      const { fixFor, migrationState } = await import('../migration-state.js');
      const out = process.stdout;
      line(out, `checking ${redactUrl(flags.url!)} table ${flags.table}`);
      let store: SessionRecordStore | undefined;
      const id = `sessionsql-check-${randomUUID()}`;
      let written = false;
      const steps: Step[] = [
        [
          'connect',
          async () => {
            store = await openStore(flags.url, flags);
            return store.backend;
          },
        ],
        [
          'migrations',
          async () => {
            const state = await migrationState(store!);
            if (state.pending.length > 0) {
              throw new Error(`pending: ${state.pending.join(', ')}; run \`sessionsql migrate\``);
            }
            return `up to date (${state.applied.at(-1)})`;
          },
        ],
        [
          'write',
          async () => {
            written = true;
            await store!.save(id, { sessionsqlCheck: true }, Date.now() + 60_000);
            return undefined;
          },
        ],
        [
          'read',
          async () => expect((await store!.load(id))?.data?.sessionsqlCheck === true, 'the probe was not read back'),
        ],
        [
          'touch',
          async () => {
            const expiresAt = Date.now() + 120_000;
            await store!.touch(id, expiresAt);
            return expect((await store!.load(id))?.expiresAt === expiresAt, 'the expiry did not move');
          },
        ],
        [
          'delete',
          async () => {
            await store!.delete(id);
            written = false;
            return expect((await store!.load(id)) === null, 'the probe is still there');
          },
        ],
      ];
      try {
        for (const [name, run] of steps) {
          const start = performance.now();
          try {
            const note = await run();
            line(
              out,
              `${paint(out, 'green', 'ok  ')} ${name.padEnd(10)} ${since(start).padStart(10)}${note ? `  ${note}` : ''}`,
            );
          } catch (error) {
            if (error instanceof UsageError) throw error;
            line(out, `${paint(out, 'red', 'FAIL')} ${name.padEnd(10)} ${since(start).padStart(10)}`);
            throw new CliFailure(`check failed at step "${name}": ${fixFor(error)}`);
          }
        }
        line(out, paint(out, 'green', 'all checks passed'));
      } finally {
        if (written) await store?.delete(id).catch(() => undefined);
        await store?.close().catch(() => undefined);
      }
    });
}

function expect(ok: boolean, why: string): undefined {
  if (!ok) throw new Error(why);
  return undefined;
}
