import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import type { Command } from 'commander';
import { type DbFlags, withDbFlags, withStore } from '../open-store.js';
import { formatCount, line } from '../output.js';
import { startProgress } from '../progress.js';

interface ExportFlags extends DbFlags {
  readonly file?: string;
  readonly includeExpired?: boolean;
}

/** Rows read per page. */
const PAGE = 1000;

/**
 * `sessionsql export`: the stored rows as JSON lines (key, data, times, user), to stdout or
 * `--file` (written to `<file>.partial` and renamed when complete): a backup that `import`
 * restores into either backend.
 */
export function exportCommand(program: Command): void {
  withDbFlags(program.command('export'))
    .description('Write the stored sessions as JSON lines (a backup for `import`), live ones unless --include-expired.')
    .option('--file <path>', 'write to this file instead of stdout')
    .option('--include-expired', 'export expired sessions too')
    .addHelpText('after', '\nExample:\n  $ sessionsql export --url sqlite:data/sessions.db --file sessions.jsonl')
    .action(async (flags: ExportFlags) => {
      await withStore(flags.url, flags, async (store) => {
        const stats = await store.table.stats({ topUsers: 0 });
        const total = stats.live + (flags.includeExpired ? stats.expired : 0);
        const partial = flags.file === undefined ? undefined : `${flags.file}.partial`;
        const out = partial === undefined ? process.stdout : createWriteStream(partial);
        const progress = startProgress('export', total);
        let count = 0;
        try {
          let after: string | undefined;
          for (;;) {
            const rows = await store.table.exportRows({
              limit: PAGE,
              includeExpired: flags.includeExpired === true,
              ...(after === undefined ? {} : { after }),
            });
            if (rows.length === 0) break;
            const text = `${rows.map((row) => JSON.stringify(row)).join('\n')}\n`;
            if (!out.write(text)) await once(out, 'drain');
            count += rows.length;
            progress.update(count);
            after = rows.at(-1)!.key;
          }
        } catch (error) {
          if (partial !== undefined) rmSync(partial, { force: true });
          throw error;
        } finally {
          progress.stop();
        }
        if (partial !== undefined) {
          out.end();
          await once(out, 'finish');
          renameSync(partial, flags.file!);
        }
        line(process.stderr, `exported ${formatCount(count)} sessions${flags.file ? ` to ${flags.file}` : ''}`);
      });
    });
}
