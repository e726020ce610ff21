/**
 * Store-level benchmark: each operation on its own, on a table pre-filled with live ~1 KB
 * sessions; latency at concurrency 1 and throughput at concurrency 64, contenders interleaved
 * operation by operation in every round.
 */
import type { SessionData } from 'express-session';
import { type BenchEnv, DAY_MS, sampleSession, sessionId } from './bench-env.js';
import type { CallbackStore, Contender, OpenContender } from './contender-kit.js';
import { findPostmaster, serverCpuMs } from './server-cpu.js';
import { quantile, type Summary, summarize } from './stats.js';

export const OPERATIONS = ['get-hit', 'get-miss', 'set-new', 'set-existing', 'touch', 'destroy'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface StoreBenchConfig {
  /** Live sessions in each table before measuring. */
  readonly prefill: number;
  /** Operations timed one at a time (concurrency 1), per operation, contender and round. */
  readonly latencyOps: number;
  /** Operations run 64 at a time, per operation, contender and round. */
  readonly throughputOps: number;
  readonly concurrency: number;
  readonly rounds: number;
}

export interface OperationResult {
  /** Latency at concurrency 1, in ms. */
  readonly p50Ms: Summary;
  readonly p99Ms: Summary;
  /** Operations per second at `concurrency`. */
  readonly opsPerSec: Summary;
  /** PostgreSQL contenders: the server's CPU per 1,000 operations at `concurrency`, in ms. */
  readonly serverCpuMsPer1k?: Summary;
}

/** results[operation][contender id] */
export type StoreBenchResults = Record<Operation, Record<string, OperationResult>>;

/** A full GC between measurements (node --expose-gc), so one contender's garbage is not collected on another's time. */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const SESSIONS = Array.from({ length: 64 }, (_, i) => sampleSession(i));

/**
 * `sess` expiring a day from now, as every session express-session hands a store is: it resets
 * the cookie's maxAge on each request. A write that bound the expiry already stored would let
 * SQLite write far less (it does not rewrite a row whose new content is the old) and
 * PostgreSQL make it HOT, which a minimal store would win by and no app ever sees (measured on
 * SQLite: the minimal store's touch took 13.6 µs when its expiry was the stored one, 30 µs when
 * it moved).
 */
function expiringFromNow(sess: SessionData): SessionData {
  (sess.cookie as { expires?: unknown }).expires = new Date(Date.now() + DAY_MS);
  return sess;
}

function promisify<T>(fn: (callback: (error: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));
}

class Subject {
  readonly #store: CallbackStore;
  readonly #prefill: number;
  readonly #fresh: string[] = [];
  #counter = 0;

  constructor(
    readonly contender: Contender,
    readonly opened: OpenContender,
    prefill: number,
  ) {
    this.#store = opened.store;
    this.#prefill = prefill;
  }

  async fill(): Promise<void> {
    const ids = Array.from({ length: this.#prefill }, (_, i) => i);
    const session = (i: number) => SESSIONS[i % SESSIONS.length]!;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = ids.pop(); i !== undefined; i = ids.pop()) {
          await promisify((cb) => this.#store.set(sessionId('live-', i), session(i), cb));
        }
      }),
    );
  }

  #existing(): string {
    return sessionId('live-', Math.floor(Math.random() * this.#prefill));
  }

  /** One operation on a key chosen for it; checks what comes back so a broken store cannot look fast. */
  async run(op: Operation): Promise<void> {
    const store = this.#store;
    const n = this.#counter++;
    const sess = SESSIONS[n % SESSIONS.length] as SessionData;
    switch (op) {
      case 'get-hit': {
        const id = this.#existing();
        const found = await promisify<SessionData | null | undefined>((cb) => store.get(id, cb));
        if (!found) throw new Error(`${this.contender.id}: get(${id}) found nothing`);
        return;
      }
      case 'get-miss': {
        const found = await promisify<SessionData | null | undefined>((cb) => store.get(`missing-${n}`, cb));
        if (found) throw new Error(`${this.contender.id}: get(missing) found a session`);
        return;
      }
      case 'set-new': {
        const id = sessionId(`new-${n}-`, n);
        this.#fresh.push(id);
        await promisify((cb) => store.set(id, expiringFromNow(sess), cb));
        return;
      }
      case 'set-existing':
        await promisify((cb) => store.set(this.#existing(), expiringFromNow(sess), cb));
        return;
      case 'touch':
        await promisify((cb) => store.touch(this.#existing(), expiringFromNow(sess), cb));
        return;
      case 'destroy': {
        const id = this.#fresh.pop();
        if (id === undefined) throw new Error('destroy ran out of sessions made by set-new');
        await promisify((cb) => store.destroy(id, cb));
        return;
      }
    }
  }
}

async function latencies(subject: Subject, op: Operation, count: number): Promise<number[]> {
  const times: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await subject.run(op);
    times[i] = performance.now() - start;
  }
  return times;
}

async function throughput(subject: Subject, op: Operation, count: number, concurrency: number): Promise<number> {
  let issued = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < count) {
        issued++;
        await subject.run(op);
      }
    }),
  );
  return count / ((performance.now() - start) / 1000);
}

/** Runs the store benchmark over `contenders`; `log` receives progress lines. */
export async function runStoreBench(
  env: BenchEnv,
  contenders: readonly Contender[],
  config: StoreBenchConfig,
  log: (line: string) => void,
): Promise<StoreBenchResults> {
  const subjects: Subject[] = [];
  const postmaster = contenders.some((c) => c.database === 'postgres')
    ? await findPostmaster(env.postgresUrl)
    : undefined;
  try {
    for (const contender of contenders) {
      const opened = await contender.open(env, `store_${contender.id.replace(/-/g, '_')}`);
      const subject = new Subject(contender, opened, config.prefill);
      subjects.push(subject);
      await subject.fill();
      log(`  filled ${contender.label} with ${config.prefill} sessions`);
    }
    // Warm-up: statements prepared, code optimised, caches hot; nothing recorded.
    for (const subject of subjects) {
      for (const op of OPERATIONS) await latencies(subject, op, Math.min(300, config.latencyOps));
      for (const op of OPERATIONS)
        await throughput(subject, op, Math.min(2000, config.throughputOps), config.concurrency);
    }
    const raw = new Map<string, { p50: number[]; p99: number[]; ops: number[]; cpu: number[] }>();
    for (const op of OPERATIONS) {
      for (const subject of subjects) raw.set(`${op} ${subject.contender.id}`, { p50: [], p99: [], ops: [], cpu: [] });
    }
    for (let round = 1; round <= config.rounds; round++) {
      log(`  round ${round}/${config.rounds}`);
      for (const op of OPERATIONS) {
        // A different contender goes first each round, so none always follows the same one's garbage.
        const order = subjects.map((_, i) => subjects[(i + round) % subjects.length]!);
        for (const subject of order) {
          collectGarbage();
          const times = await latencies(subject, op, config.latencyOps);
          collectGarbage();
          // destroy never runs out of rows: set-new made latencyOps + throughputOps of them.
          const onServer = postmaster !== undefined && subject.contender.database === 'postgres';
          const cpuBefore = onServer ? serverCpuMs(postmaster) : Number.NaN;
          const ops = await throughput(subject, op, config.throughputOps, config.concurrency);
          const entry = raw.get(`${op} ${subject.contender.id}`)!;
          if (onServer) entry.cpu.push(((serverCpuMs(postmaster) - cpuBefore) / config.throughputOps) * 1000);
          entry.p50.push(quantile(times, 0.5));
          entry.p99.push(quantile(times, 0.99));
          entry.ops.push(ops);
        }
      }
    }
    const results = {} as StoreBenchResults;
    for (const op of OPERATIONS) {
      results[op] = {};
      for (const subject of subjects) {
        const entry = raw.get(`${op} ${subject.contender.id}`)!;
        results[op][subject.contender.id] = {
          p50Ms: summarize(entry.p50),
          p99Ms: summarize(entry.p99),
          opsPerSec: summarize(entry.ops),
          ...(entry.cpu.length > 0 && entry.cpu.every(Number.isFinite)
            ? { serverCpuMsPer1k: summarize(entry.cpu) }
            : {}),
        };
      }
    }
    return results;
  } finally {
    for (const subject of subjects) await subject.opened.close();
  }
}
