import type { Command } from 'commander';
import { type DbFlags, positiveInt, withDbFlags, withStore } from '../open-store.js';
import { formatCount, line } from '../output.js';
import { startProgress } from '../progress.js';

interface PruneFlags extends DbFlags {
  readonly batchSize: number;
}

/**
 * `sessionsql prune`: deletes expired sessions in batches (one short transaction each, so the
 * app keeps serving), with progress.
 */
export function pruneCommand(program: Command): void {
  withDbFlags(program.command('prune'))
    .description('Delete expired sessions in batches, with progress, while the app keeps serving.')
    .option('--batch-size <n>', 'sessions deleted per transaction', positiveInt, 1000)
    .addHelpText('after', '\nExample:\n  $ sessionsql prune --url postgres://app@db.internal/app --batch-size 5000')
    .action(async (flags: PruneFlags) => {
      await withStore(
        flags.url,
        flags,
        async (store) => {
          const { expired } = await store.table.stats({ topUsers: 0 });
          if (expired === 0) {
            line(process.stdout, 'no expired sessions');
            return;
          }
          const progress = startProgress('prune', expired);
          let deleted = 0;
          try {
            deleted = await store.deleteExpired({ onBatch: (soFar) => progress.update(soFar) });
            progress.update(deleted);
          } finally {
            progress.stop();
          }
          if (deleted === 0 && expired > 0) {
            line(process.stdout, 'another process is pruning this table right now; nothing deleted here');
          } else line(process.stdout, `deleted ${formatCount(deleted)} expired sessions`);
        },
        { store: { pruneBatchSize: flags.batchSize } },
      );
    });
}
