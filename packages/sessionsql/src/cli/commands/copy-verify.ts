import { isDeepStrictEqual } from 'node:util';
import type { SessionRecordStore, StoredRow } from '@sessionsql/core';

/** What the end of a copy found. */
export interface CopyVerification {
  readonly sourceCount: number;
  readonly destinationCount: number;
  /** Sampled rows found in the destination as copied (or newer there). */
  readonly matched: number;
  /** What is wrong, for the error message; empty when the copy verified. */
  readonly problems: readonly string[];
}

/**
 * Compares counts (the destination must hold at least what the source holds) and looks up the
 * sampled rows in the destination (one pass over its keys): each must be there with the same
 * data, expiry, user and times, or have been updated there since.
 */
export async function verifyCopy(
  source: SessionRecordStore,
  destination: SessionRecordStore,
  sample: readonly StoredRow[],
  includeExpired: boolean,
): Promise<CopyVerification> {
  const [from, to] = await Promise.all([source.table.stats({ topUsers: 0 }), destination.table.stats({ topUsers: 0 })]);
  const count = (s: typeof from) => s.live + (includeExpired ? s.expired : 0);
  const wanted = new Map(sample.map((row) => [row.key, row]));
  let matched = 0;
  let after: string | undefined;
  while (wanted.size > 0) {
    const rows = await destination.table.exportRows({
      limit: 10_000,
      includeExpired: true,
      ...(after ? { after } : {}),
    });
    if (rows.length === 0) break;
    for (const row of rows) {
      const copied = wanted.get(row.key);
      if (copied === undefined) continue;
      wanted.delete(row.key);
      if (row.updatedAt > copied.updatedAt || same(row, copied)) matched++;
    }
    after = rows.at(-1)!.key;
  }
  const problems: string[] = [];
  if (count(to) < count(from)) {
    problems.push(`the destination holds ${count(from) - count(to)} fewer sessions than the source`);
  }
  if (matched < sample.length) problems.push(`${sample.length - matched} of ${sample.length} sampled sessions differ`);
  return { sourceCount: count(from), destinationCount: count(to), matched, problems };
}

function same(a: StoredRow, b: StoredRow): boolean {
  return (
    a.expiresAt === b.expiresAt &&
    a.userId === b.userId &&
    a.createdAt === b.createdAt &&
    a.updatedAt === b.updatedAt &&
    isDeepStrictEqual(JSON.parse(a.data), JSON.parse(b.data))
  );
}
