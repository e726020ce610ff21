import type { SessionRecordStore, StoredRow } from '@sessionsql/core';
import type { Command } from 'commander';
import { redactUrl } from '../../session-db-url.js';
import { CopyState } from '../copy-state.js';
import { CliFailure, Interrupted, UsageError } from '../exit-codes.js';
import { type DbFlags, openStore, positiveInt, sameDatabase, targetOf, withDbFlags } from '../open-store.js';
import { formatCount, line } from '../output.js';
import { startProgress } from '../progress.js';
import { verifyCopy } from './copy-verify.js';

interface CopyFlags extends DbFlags {
  readonly from?: string;
  readonly to?: string;
  readonly includeExpired?: boolean;
  readonly batchSize: number;
  readonly state?: string;
  readonly sample: number;
}

/**
 * `sessionsql copy --from URL --to URL`: moves sessions between databases as stored (hashed
 * keys, data, expiry, user, times), in batches; resumable from a checkpoint file after Ctrl-C
 * or a crash; verifies counts and a sample at the end.
 */
export function copyCommand(program: Command): void {
  withDbFlags(program.command('copy'), false)
    .description('Copy sessions between databases (SQLite ⇄ PostgreSQL), resumable, verified at the end.')
    .option('--from <url>', 'the source database')
    .option('--to <url>', 'the destination database (its table is created when missing)')
    .option('--include-expired', 'copy expired sessions too')
    .option('--batch-size <n>', 'rows per transaction', positiveInt, 1000)
    .option('--state <file>', 'checkpoint file (default: .sessionsql-copy-<id>.json here)')
    .option('--sample <n>', 'rows compared between source and destination at the end', positiveInt, 100)
    .addHelpText(
      'after',
      '\nExample:\n  $ sessionsql copy --from sqlite:data/sessions.db --to postgres://app@db.internal/app\n\nInterrupted (Ctrl-C, a crash)? Run the same command again: it resumes after the last batch copied.',
    )
    .action(async (flags: CopyFlags) => {
      const from = targetOf(flags.from, '--from');
      const to = targetOf(flags.to, '--to');
      if (sameDatabase(from, to)) throw new UsageError('--from and --to name the same database: nothing to copy.');
      const state = new CopyState(flags.from!, flags.to!, flags.table, flags.state);
      const source = await openStore(flags.from, flags);
      let destination: SessionRecordStore | undefined;
      try {
        destination = await openStore(flags.to, flags, { create: true });
        await copy(source, destination, state, flags);
      } finally {
        await Promise.allSettled([source.close(), destination?.close()]);
      }
    });
}

async function copy(source: SessionRecordStore, destination: SessionRecordStore, state: CopyState, flags: CopyFlags) {
  const err = process.stderr;
  const includeExpired = flags.includeExpired === true;
  const resumed = state.load();
  let after = resumed?.after;
  let copied = resumed?.copied ?? 0;
  line(err, `copying ${redactUrl(flags.from!)} → ${redactUrl(flags.to!)} (table ${flags.table})`);
  if (resumed) line(err, `resuming after ${formatCount(copied)} sessions copied before (${state.path})`);
  const before = await source.table.stats({ topUsers: 0 });
  const progress = startProgress('copy', before.live + (includeExpired ? before.expired : 0));
  let stop = false;
  const onSigint = () => {
    stop = true;
  };
  process.on('SIGINT', onSigint);
  const sample: StoredRow[] = [];
  let seen = 0;
  try {
    progress.update(copied);
    for (;;) {
      if (stop)
        throw new Interrupted(
          `interrupted after ${formatCount(copied)} sessions; run the same command again to resume.`,
        );
      const rows = await source.table.exportRows({
        limit: flags.batchSize,
        includeExpired,
        ...(after ? { after } : {}),
      });
      if (rows.length === 0) break;
      await destination.table.importRows(rows);
      after = rows.at(-1)!.key;
      copied += rows.length;
      state.save(after, copied);
      progress.update(copied);
      for (const row of rows) {
        // Reservoir sampling: every row copied by this run has the same chance to be compared.
        seen++;
        if (sample.length < flags.sample) sample.push(row);
        else if (Math.random() * seen < flags.sample) sample[Math.floor(Math.random() * flags.sample)] = row;
      }
    }
  } catch (error) {
    process.off('SIGINT', onSigint);
    throw error;
  } finally {
    progress.stop();
  }
  // Fresh rows have no statistics yet (on PostgreSQL no visibility map either): without this
  // the verification's counts, and the app's, read every row until autovacuum comes by.
  if (copied > 0) await destination.table.analyze();
  // Ctrl-C while verifying stops at the end of it; the checkpoint stays, so a rerun resumes.
  const result = await verifyCopy(source, destination, sample, includeExpired).finally(() =>
    process.off('SIGINT', onSigint),
  );
  if (stop) throw new Interrupted('interrupted while verifying; run the same command again to resume.');
  const out = process.stdout;
  line(out, `copied ${formatCount(copied)} sessions`);
  line(
    out,
    `source: ${formatCount(result.sourceCount)}, destination: ${formatCount(result.destinationCount)} ${includeExpired ? 'sessions' : 'live sessions'}`,
  );
  line(out, `sample: ${result.matched}/${sample.length} identical`);
  if (result.problems.length > 0) {
    throw new CliFailure(
      `the copy did not verify: ${result.problems.join('; ')}. Run the same command again to copy what is missing.`,
    );
  }
  state.clear();
  line(out, 'verified');
}
