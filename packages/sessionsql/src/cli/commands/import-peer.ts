import { type ImportedSession, type SessionObject, sessionKey } from '@sessionsql/core';
import { redactUrl } from '../../session-db-url.js';
import { UsageError } from '../exit-codes.js';
import { type DbFlags, sameDatabase, targetOf, withStore } from '../open-store.js';
import { formatCount, line } from '../output.js';
import { openPeerSource, type PeerSource, peerLayout } from '../peers/peer-tables.js';
import { startProgress } from '../progress.js';

/** The flags of `import --peer`. */
export interface PeerImportFlags extends DbFlags {
  readonly peer: string;
  readonly from?: string;
  readonly fromTable?: string;
  readonly encryptionKeyEnv?: string;
}

/** The keys named by `--encryption-key-env A,B` (environment variables, so no key is on the command line). */
function encryptionKeys(names: string | undefined): string[] | undefined {
  if (names === undefined) return undefined;
  return names.split(',').map((raw) => {
    const name = raw.trim();
    const key = process.env[name];
    if (name === '' || key === undefined || key.trim() === '') {
      throw new UsageError(`--encryption-key-env: the environment variable ${JSON.stringify(name)} is not set.`);
    }
    return key.trim();
  });
}

/** Rows read from the peer and written per transaction. */
const BATCH = 1000;
/** Target keys read per page when listing what is already there. */
const KEY_PAGE = 10_000;

/**
 * `sessionsql import --peer <name> --from <url>`: adopts the table of another express-session
 * store. Each live session (expiry in the future) is written under its own id, so a cookie the
 * old store signed (same secret) reads it; its user comes from `getUserId`. A session already
 * in the target is kept as it is: running again changes nothing, and never overwrites what the
 * app wrote after the switch. The peer table is only read.
 */
export async function importFromPeer(flags: PeerImportFlags): Promise<void> {
  const layout = peerLayout(flags.peer);
  if (flags.from === undefined || flags.from.trim() === '') {
    throw new UsageError(`--peer needs --from <url>: the database ${flags.peer} writes to.`);
  }
  const from = targetOf(flags.from, '--from');
  const to = targetOf(flags.url);
  const fromTable = flags.fromTable ?? layout.table;
  const keys = encryptionKeys(flags.encryptionKeyEnv);
  if (sameDatabase(from, to) && fromTable === flags.table) {
    throw new UsageError(
      `the peer table and the target are the same table ${JSON.stringify(fromTable)} in ${redactUrl(flags.from)}: pass --table <name> for sessionsql's table.`,
    );
  }
  // The peer table is checked before the target is opened (and created): nothing is written on a bad source.
  const source = await openPeerSource(flags.peer, layout, flags.from, from, fromTable, flags.timeout);
  try {
    await withStore(
      flags.url,
      flags,
      async (store) => {
        const existing = new Set<string>();
        for (let after: string | undefined; ; ) {
          const rows = await store.table.exportRows({ limit: KEY_PAGE, ...(after ? { after } : {}) });
          for (const row of rows) existing.add(row.key);
          if (rows.length < KEY_PAGE) break;
          after = rows[rows.length - 1]!.key;
        }
        const counts = await copyLive(source, existing, (batch) => store.table.importSessions(batch));
        if (counts.written > 0) await store.table.analyze();
        const notes = [
          counts.expired > 0 ? `${formatCount(counts.expired)} expired skipped` : '',
          counts.kept > 0 ? `${formatCount(counts.kept)} already there kept` : '',
          counts.unreadable > 0 ? `${formatCount(counts.unreadable)} unreadable skipped` : '',
        ].filter((n) => n !== '');
        line(
          process.stdout,
          `imported ${formatCount(counts.written)} of ${formatCount(counts.read)} sessions from ${source.label}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`,
        );
      },
      { create: true, ...(keys === undefined ? {} : { store: { encryptionKeys: keys } }) },
    );
  } finally {
    await source.close().catch(() => undefined);
  }
}

interface Counts {
  read: number;
  written: number;
  expired: number;
  kept: number;
  unreadable: number;
}

/** Reads `source` page by page and writes its live sessions not in `existing`. */
async function copyLive(
  source: PeerSource,
  existing: ReadonlySet<string>,
  write: (batch: ImportedSession[]) => Promise<number>,
): Promise<Counts> {
  const counts: Counts = { read: 0, written: 0, expired: 0, kept: 0, unreadable: 0 };
  const progress = startProgress('import', await source.count());
  const now = Date.now();
  try {
    for (let after: string | null = null; ; ) {
      const rows = await source.page(after, BATCH);
      const batch: ImportedSession[] = [];
      for (const row of rows) {
        counts.read++;
        if (row.expiresAt === null) {
          counts.unreadable++;
          continue;
        }
        if (row.expiresAt <= now) {
          counts.expired++;
          continue;
        }
        const data = parseSession(row.sess);
        if (data === null || !cleanId(row.sid)) {
          counts.unreadable++;
          continue;
        }
        if (existing.has(sessionKey(row.sid))) {
          counts.kept++;
          continue;
        }
        batch.push({ id: row.sid, data, expiresAt: row.expiresAt });
      }
      if (batch.length > 0) counts.written += await write(batch);
      progress.update(counts.read);
      if (rows.length < BATCH) break;
      after = rows[rows.length - 1]!.sid;
    }
  } finally {
    progress.stop();
  }
  return counts;
}

/** A session id sessionsql can key: non-empty, well-formed Unicode without NUL. */
function cleanId(sid: string): boolean {
  return sid !== '' && !/\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(sid);
}

function parseSession(text: string): SessionObject | null {
  try {
    const data: unknown = JSON.parse(text);
    return typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as SessionObject) : null;
  } catch {
    return null;
  }
}
