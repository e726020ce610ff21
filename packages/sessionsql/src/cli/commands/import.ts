import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { StoredRow } from '@sessionsql/core';
import type { Command } from 'commander';
import { CliFailure, UsageError } from '../exit-codes.js';
import { type DbFlags, withDbFlags, withStore } from '../open-store.js';
import { formatCount, line } from '../output.js';
import { PEERS } from '../peers/peer-tables.js';
import { startProgress } from '../progress.js';
import { importFromPeer } from './import-peer.js';

interface ImportFlags extends DbFlags {
  readonly file?: string;
  readonly peer?: string;
  readonly from?: string;
  readonly fromTable?: string;
  readonly encryptionKeyEnv?: string;
}

/** Rows written per transaction. */
const BATCH = 1000;

/**
 * `sessionsql import`: the JSON lines of `export` (from `--file`, or stdin) written in
 * batches; idempotent (a row already there is replaced only by one updated as late or later).
 * Creates the table when it is not there. With `--peer <name> --from <url>`, adopts the table
 * of another express-session store instead (see import-peer.ts).
 */
export function importCommand(program: Command): void {
  withDbFlags(program.command('import'))
    .description(
      'Restore sessions from JSON lines written by `export`, or adopt the table of another session store with --peer (idempotent; creates the table if needed).',
    )
    .option('--file <path>', 'read this file instead of stdin')
    .option('--peer <name>', `read the live sessions of another store's table: ${Object.keys(PEERS).join(', ')}`)
    .option('--from <url>', 'with --peer: the database that store writes to (sqlite:path.db, postgres://…?schema=…)')
    .option(
      '--from-table <name>',
      `with --peer: its table (default: ${Object.entries(PEERS)
        .map(([name, p]) => `${p.table} for ${name}`)
        .join('; ')})`,
    )
    .option(
      '--encryption-key-env <names>',
      "with --peer: environment variables holding the app's encryptionKeys, comma-separated, the first encrypts",
    )
    .addHelpText(
      'after',
      `
Example:
  $ sessionsql import --url postgres://app@db.internal/app --file sessions.jsonl

Adopting the table of connect-pg-simple in the same database (--peer):
  $ sessionsql import --peer connect-pg-simple --from postgres://app@db.internal/app --url postgres://app@db.internal/app

With --peer, each live session keeps its id, so a cookie the old store signed (same secret)
stays signed in; user ids come from getUserId (userId, user.id, passport.user). Expired
sessions are skipped; a session already in the target is kept, so running again changes
nothing. The peer's table is only read. If the app sets encryptionKeys, pass them with
--encryption-key-env so that the sessions are stored encrypted as the app reads them.`,
    )
    .action(async (flags: ImportFlags) => {
      if (flags.peer !== undefined) {
        if (flags.file !== undefined) throw new UsageError('--file and --peer are two sources: pass one.');
        await importFromPeer({ ...flags, peer: flags.peer });
        return;
      }
      if (flags.from !== undefined || flags.fromTable !== undefined || flags.encryptionKeyEnv !== undefined) {
        throw new UsageError(
          `--from, --from-table and --encryption-key-env go with --peer <name> (${Object.keys(PEERS).join(', ')}).`,
        );
      }
      const input = flags.file === undefined ? process.stdin : createReadStream(flags.file);
      const opened = new Promise<void>((resolve, reject) => {
        if (flags.file === undefined) resolve();
        input.once('open', () => resolve()).once('error', reject);
      });
      await opened.catch((error: Error) => {
        throw new CliFailure(`cannot read ${flags.file}: ${error.message}`);
      });
      await withStore(
        flags.url,
        flags,
        async (store) => {
          const progress = startProgress('import', 0);
          let read = 0;
          let written = 0;
          let batch: StoredRow[] = [];
          const flush = async () => {
            written += await store.table.importRows(batch);
            batch = [];
            progress.update(read);
          };
          try {
            let lineNumber = 0;
            for await (const text of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
              lineNumber++;
              if (text.trim() === '') continue;
              batch.push(parseRow(text, lineNumber));
              read++;
              if (batch.length >= BATCH) await flush();
            }
            await flush();
          } finally {
            progress.stop();
          }
          if (written > 0) await store.table.analyze();
          const kept = read - written;
          line(
            process.stdout,
            `imported ${formatCount(written)} of ${formatCount(read)} sessions${kept > 0 ? ` (${formatCount(kept)} kept: a newer copy was there)` : ''}`,
          );
        },
        { create: true },
      );
    });
}

function parseRow(text: string, lineNumber: number): StoredRow {
  let row: unknown;
  try {
    row = JSON.parse(text);
  } catch {
    throw new CliFailure(`line ${lineNumber} is not JSON; the lines before it were imported (run again once fixed).`);
  }
  const r = row as Partial<StoredRow> | null;
  if (typeof r !== 'object' || r === null || typeof r.key !== 'string' || typeof r.data !== 'string') {
    throw new CliFailure(`line ${lineNumber} is not a row written by \`sessionsql export\` (key, data, expiresAt, …).`);
  }
  return r as StoredRow;
}
