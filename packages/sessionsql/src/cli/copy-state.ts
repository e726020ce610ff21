import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { redactUrl } from '../session-db-url.js';

/** Where a copy stands: the last key copied (in the source's key order) and how many rows. */
export interface CopyCheckpoint {
  readonly from: string;
  readonly to: string;
  readonly table: string;
  readonly after: string;
  readonly copied: number;
}

/**
 * The checkpoint file of one copy (`from`, `to`, table): read at start to resume, replaced
 * atomically after every batch, removed when the copy is complete. It holds no password.
 */
export class CopyState {
  readonly path: string;
  readonly #identity: Pick<CopyCheckpoint, 'from' | 'to' | 'table'>;

  constructor(from: string, to: string, table: string, path?: string) {
    this.#identity = { from: redactUrl(from), to: redactUrl(to), table };
    const id = createHash('sha256').update(`${from}\n${to}\n${table}`).digest('hex').slice(0, 12);
    this.path = path ?? `.sessionsql-copy-${id}.json`;
  }

  /** The checkpoint to resume from, when this copy was stopped before. */
  load(): CopyCheckpoint | undefined {
    if (!existsSync(this.path)) return undefined;
    const saved = JSON.parse(readFileSync(this.path, 'utf8')) as CopyCheckpoint;
    const same =
      saved.from === this.#identity.from && saved.to === this.#identity.to && saved.table === this.#identity.table;
    return same && typeof saved.after === 'string' ? saved : undefined;
  }

  save(after: string, copied: number): void {
    const temp = `${this.path}.tmp`;
    writeFileSync(temp, JSON.stringify({ ...this.#identity, after, copied }));
    renameSync(temp, this.path);
  }

  clear(): void {
    rmSync(this.path, { force: true });
  }
}
