/**
 * Concurrent operations, per dialect: many calls in flight at once (which PostgreSQL coalesces
 * into batch statements) give every caller the outcome of its own call in call order per
 * session, exactly once, as if they had run one by one.
 */
import { type SessionBackend, SessionRecordStore } from '@sessionsql/core';
import { describe, expect, it } from 'vitest';
import { selectedDialects, useStoreHarness } from './dialects.js';
import { countingBackend } from './http/counting-backend.js';

const HOUR = 3_600_000;

/** A small seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

type Op =
  | { kind: 'save'; id: string; data: { n: number }; expiresAt: number }
  | { kind: 'load'; id: string }
  | { kind: 'touch'; id: string; expiresAt: number }
  | { kind: 'delete'; id: string };

/**
 * What one store must answer, applied one operation at a time in call order. Every session
 * was loaded by the store before (so its resurrection guard holds for all of them, whatever
 * order answers come back in): a save replaces a live session and never brings back a deleted one.
 */
class Model {
  readonly rows = new Map<string, { data: { n: number }; expiresAt: number }>();

  apply(op: Op): { data: { n: number }; expiresAt: number } | null | undefined {
    const row = this.rows.get(op.id);
    switch (op.kind) {
      case 'save':
        if (row !== undefined) this.rows.set(op.id, { data: op.data, expiresAt: op.expiresAt });
        return undefined;
      case 'load':
        return row === undefined ? null : { ...row };
      case 'touch':
        if (row !== undefined) row.expiresAt = op.expiresAt;
        return undefined;
      case 'delete':
        this.rows.delete(op.id);
        return undefined;
    }
  }
}

for (const dialect of selectedDialects()) {
  describe(`${dialect}: concurrent operations`, () => {
    const h = useStoreHarness(dialect);
    const open = (backend: SessionBackend = h().createBackend()) =>
      new SessionRecordStore(backend, { tableName: h().table, pruneIntervalMs: false, touchAfterMs: 0 });

    it('interleaved saves, loads, touches and deletes on a few ids answer as the same calls one by one', async () => {
      const records = open();
      await records.ready();
      const next = random(4711);
      const base = Date.now() + HOUR;
      let n = 0;
      for (let round = 0; round < 15; round++) {
        // Fresh sessions each round, created and loaded one by one before the burst.
        const ids = Array.from({ length: 12 }, (_, i) => `round-${round}-session-${i}`);
        const model = new Model();
        for (const id of ids) {
          const op: Op = { kind: 'save', id, data: { n: n++ }, expiresAt: base + n };
          await records.save(op.id, op.data, op.expiresAt);
          model.rows.set(id, { data: op.data, expiresAt: op.expiresAt });
          expect(await records.load(id)).toEqual(model.apply({ kind: 'load', id }));
        }
        const ops: Op[] = Array.from({ length: 120 }, (): Op => {
          const id = ids[Math.floor(next() * ids.length)]!;
          const roll = next();
          if (roll < 0.3) return { kind: 'save', id, data: { n: n++ }, expiresAt: base + n };
          if (roll < 0.65) return { kind: 'load', id };
          if (roll < 0.85) return { kind: 'touch', id, expiresAt: base + HOUR + n++ };
          return { kind: 'delete', id };
        });
        // Every call is made before any answer arrives; half through callbacks, half through promises.
        const callbackCalls = ops.map(() => 0);
        const answers = ops.map((op, i) => {
          const viaCallback = i % 2 === 0;
          const call = (callback?: (error: unknown, value?: unknown) => void): Promise<unknown> | undefined => {
            switch (op.kind) {
              case 'save':
                return callback
                  ? void records.save(op.id, op.data, op.expiresAt, callback)
                  : records.save(op.id, op.data, op.expiresAt);
              case 'load':
                return callback ? void records.load(op.id, callback) : records.load(op.id);
              case 'touch':
                return callback
                  ? void records.touch(op.id, op.expiresAt, callback)
                  : records.touch(op.id, op.expiresAt);
              case 'delete':
                return callback ? void records.delete(op.id, callback) : records.delete(op.id);
            }
          };
          if (!viaCallback) return call()!;
          return new Promise((resolve, reject) => {
            call((error, value) => {
              callbackCalls[i]!++;
              if (error) reject(error);
              else resolve(value);
            });
          });
        });
        const expected = ops.map((op) => model.apply(op));
        const got = await Promise.all(answers);
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(callbackCalls.filter((calls, i) => i % 2 === 0 && calls !== 1)).toEqual([]);
        for (let i = 0; i < ops.length; i++) {
          if (ops[i]!.kind !== 'load') continue;
          expect({ round, i, op: ops[i], answer: got[i] ?? null }).toEqual({
            round,
            i,
            op: ops[i],
            answer: expected[i] ?? null,
          });
        }
        for (const id of ids)
          expect({ id, row: await records.load(id) }).toEqual({ id, row: model.rows.get(id) ?? null });
        // Loading every id guards it in both.
        for (const id of ids) model.apply({ kind: 'load', id });
      }
    });

    it(
      dialect === 'postgres'
        ? 'coalesces concurrent operations of one kind into few statements'
        : 'runs one statement per operation (SQLite answers each at once)',
      async () => {
        const counting = countingBackend(h().createBackend());
        const records = open(counting.backend);
        await records.ready();
        const expiresAt = Date.now() + HOUR;
        const ids = Array.from({ length: 300 }, (_, i) => `many-${i}`);
        let before = counting.statements;
        await Promise.all(ids.map((id, i) => records.save(id, { i }, expiresAt)));
        const sets = counting.statements - before;
        before = counting.statements;
        const loaded = await Promise.all(ids.map((id) => records.load(id)));
        const gets = counting.statements - before;
        expect(loaded.map((row) => row?.data)).toEqual(ids.map((_, i) => ({ i })));
        before = counting.statements;
        await Promise.all(ids.map((id) => records.touch(id, expiresAt + HOUR)));
        const touches = counting.statements - before;
        expect((await records.load(ids[299]!))?.expiresAt).toBe(expiresAt + HOUR);
        before = counting.statements;
        await Promise.all(ids.map((id, i) => records.save(id, { i, again: true }, expiresAt + HOUR)));
        const updates = counting.statements - before;
        before = counting.statements;
        await Promise.all(ids.slice(0, 150).map((id) => records.delete(id)));
        const deletes = counting.statements - before;
        expect(await records.count()).toBe(150);
        expect((await records.load(ids[150]!))?.data).toEqual({ i: 150, again: true });
        const counts = { sets, gets, touches, updates, deletes };
        if (dialect === 'postgres') {
          for (const [kind, count] of Object.entries(counts))
            expect({ kind, few: count <= 20 }).toEqual({ kind, few: true });
        } else {
          expect(counts).toEqual({ sets: 300, gets: 300, touches: 300, updates: 300, deletes: 150 });
        }
      },
    );

    it('a statement that fails for every caller reaches each one exactly once', async () => {
      const records = open();
      await records.ready();
      await h().query(`drop table ${h().qualifiedTable}`);
      const outcomes = await Promise.all(
        Array.from(
          { length: 40 },
          (_, i) =>
            new Promise<string[]>((resolve) => {
              const seen: string[] = [];
              records.load(`gone-${i}`, (error) => {
                seen.push((error as { code?: string } | null)?.code ?? 'no error');
                setTimeout(() => resolve(seen), 50);
              });
            }),
        ),
      );
      for (const seen of outcomes) expect(seen).toEqual(['QUERY_FAILED']);
    });

    it('close() lets every call already made finish first', async () => {
      const records = open();
      await records.ready();
      const expiresAt = Date.now() + HOUR;
      const saves = Array.from({ length: 40 }, (_, i) => records.save(`closing-${i}`, { i }, expiresAt));
      const closed = records.close();
      expect(await Promise.allSettled(saves)).toEqual(saves.map(() => ({ status: 'fulfilled', value: undefined })));
      await closed;
      const again = open();
      expect(await again.count()).toBe(40);
    });

    it('parallel reads of one session share statements; a write between them is seen by the later ones', async () => {
      const counting = countingBackend(h().createBackend());
      const records = open(counting.backend);
      await records.ready();
      const expiresAt = Date.now() + HOUR;
      await records.save('shared', { v: 1 }, expiresAt);
      const before = counting.statements;
      const first = Array.from({ length: 20 }, () => records.load('shared'));
      const write = records.save('shared', { v: 2 }, expiresAt);
      const second = Array.from({ length: 20 }, () => records.load('shared'));
      const [a, , b] = await Promise.all([Promise.all(first), write, Promise.all(second)]);
      expect(a.map((row) => row?.data)).toEqual(first.map(() => ({ v: 1 })));
      expect(b.map((row) => row?.data)).toEqual(second.map(() => ({ v: 2 })));
      if (dialect === 'postgres') expect(counting.statements - before).toBeLessThanOrEqual(6);
    });

    it('saves of loaded sessions in one burst keep or change their user, also where another process changed it, as one by one', async () => {
      const counting = countingBackend(h().createBackend());
      const records = open(counting.backend);
      const elsewhere = open();
      await records.ready();
      const expiresAt = Date.now() + HOUR;
      const ids = Array.from({ length: 60 }, (_, i) => `burst-${i}`);
      // A quarter anonymous, the others signed in as u0, u1 or u2.
      const user = (i: number) => (i % 4 === 2 ? {} : { userId: `u${i % 3}` });
      await Promise.all(ids.map((id, i) => records.save(id, { ...user(i), v: 0 }, expiresAt)));
      await Promise.all(ids.map((id) => records.load(id)));
      // Meanwhile every fifth session is signed in as someone else in another process, keeping its id.
      for (const [i, id] of ids.entries()) {
        if (i % 5 !== 0) continue;
        await elsewhere.load(id);
        await elsewhere.save(id, { userId: 'other', v: 0 }, expiresAt);
      }
      // The even ones are saved with the user they were loaded with, the odd ones sign in as 'new'.
      const saved = (i: number) => (i % 2 === 0 ? { ...user(i), v: 1 } : { userId: 'new', v: 1 });
      const before = counting.statements;
      await Promise.all(ids.map((id, i) => records.save(id, saved(i), expiresAt)));
      const statements = counting.statements - before;
      const rows = await Promise.all(ids.map((id) => elsewhere.load(id)));
      expect(rows.map((row) => row?.data)).toEqual(ids.map((_, i) => saved(i)));
      expect(await elsewhere.countSessionsForUser('other')).toBe(0);
      expect(await elsewhere.countSessionsForUser('new')).toBe(30);
      expect(await elsewhere.countSessionsForUser('u0')).toBe(5);
      // SQLite: one statement per save, two for the even ones (same user) changed elsewhere.
      if (dialect === 'postgres') expect(statements).toBeLessThanOrEqual(10);
      else expect(statements).toBe(60 + 6);
    });

    if (dialect === 'postgres') {
      it('one session the database refuses fails alone; the others of its batch are saved', async () => {
        const records = open();
        await records.ready();
        // jsonb, the type of a table created by an earlier sessionsql, refuses a NUL in a string (json stores it).
        await h().query(`alter table ${h().qualifiedTable} alter column data type jsonb`, []);
        const expiresAt = Date.now() + HOUR;
        const outcomes = await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            records.save(`batch-${i}`, i === 17 ? { bad: 'nul \u0000 here' } : { i }, expiresAt).then(
              () => 'saved',
              (error: { code?: string }) => error.code,
            ),
          ),
        );
        expect(outcomes.filter((o) => o !== 'saved')).toEqual(['DATA_REJECTED']);
        expect(outcomes[17]).toBe('DATA_REJECTED');
        expect(await records.count()).toBe(39);
        expect(await records.load('batch-17')).toBeNull();
      });

      it('a batch that cannot be built (the clock throws) fails its callers once each, and the next calls run', async () => {
        let broken = false;
        const records = new SessionRecordStore(h().createBackend(), {
          tableName: h().table,
          pruneIntervalMs: false,
          clock: () => {
            if (broken) throw new Error('clock is broken');
            return Date.now();
          },
        });
        await records.ready();
        const calls = Array.from({ length: 30 }, (_, i) =>
          records.load(`clock-${i}`).then(
            () => 'ok',
            () => 'failed',
          ),
        );
        broken = true;
        const outcomes = await Promise.all(calls);
        broken = false;
        expect(outcomes[0]).toBe('ok');
        expect(outcomes.slice(1)).toEqual(outcomes.slice(1).map(() => 'failed'));
        await records.save('after', { ok: true }, Date.now() + HOUR);
        expect((await Promise.all([records.load('after'), records.load('after')])).map((r) => r?.data)).toEqual([
          { ok: true },
          { ok: true },
        ]);
      });
    }
  });
}
