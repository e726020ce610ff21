/** Markdown tables of one run, and the targets checked against them. */
import { CONTENDERS } from './contenders.js';
import { FRAMEWORK_TITLES, FRAMEWORKS, HTTP_VARIANTS, type HttpBenchResults, inMemoryKey } from './http-bench.js';
import type { BenchResult } from './results.js';
import { formatMs, formatNumber, formatSpread } from './stats.js';
import { OPERATIONS, type StoreBenchResults } from './store-bench.js';

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
}

const pct = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;
const times = (ratio: number) => `${ratio.toFixed(2)}×`;

/** Every target of the benchmark issue that this run measured. */
export function checkTargets(result: BenchResult): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const store = result.store;
  if (store) {
    for (const op of OPERATIONS) {
      const ours = store[op]['sessionsql-pg'];
      const limit = store[op]['limit-pg'];
      if (ours && limit) {
        const share = ours.opsPerSec.median / limit.opsPerSec.median;
        checks.push({
          target: `PostgreSQL ${op}: throughput at c=64 ≥ 95% of raw pg`,
          measured: pct(share),
          met: share >= 0.95,
        });
        const ratio = ours.p50Ms.median / limit.p50Ms.median;
        checks.push({
          target: `PostgreSQL ${op}: p50 at c=1 ≤ 1.1× raw pg`,
          measured: times(ratio),
          met: ratio <= 1.1,
        });
      }
    }
    for (const op of OPERATIONS) {
      const ours = store[op]['sessionsql-sqlite'];
      const limit = store[op]['limit-better-sqlite3'];
      if (ours && limit) {
        if (op === 'get-hit') {
          const ratio = ours.p50Ms.median / limit.p50Ms.median;
          checks.push({
            target: 'SQLite get-hit: p50 at c=1 ≤ 1.5× raw better-sqlite3',
            measured: times(ratio),
            met: ratio <= 1.5,
          });
        }
        const share = ours.opsPerSec.median / limit.opsPerSec.median;
        checks.push({
          target: `SQLite ${op}: throughput at c=64 ≥ 80% of raw better-sqlite3`,
          measured: pct(share),
          met: share >= 0.8,
        });
      }
    }
    // Issue 12: PostgreSQL past one statement per request (coalescing), against the raw limit
    // and against sessionsql one statement per operation, side by side.
    for (const [op, factor] of [
      ['get-hit', 2],
      ['touch', 1.5],
      ['set-existing', 1.2],
    ] as const) {
      const ours = store[op]['sessionsql-pg'];
      const limit = store[op]['limit-pg'];
      if (ours && limit) {
        const gain = ours.opsPerSec.median / limit.opsPerSec.median;
        checks.push({
          target: `PostgreSQL ${op}: throughput at c=64 ≥ ${factor}× raw pg one statement per operation`,
          measured: times(gain),
          met: gain >= factor,
        });
      }
    }
    for (const op of OPERATIONS) {
      const ours = store[op]['sessionsql-pg'];
      const before = store[op]['sessionsql-pg-one-by-one'];
      if (ours && before) {
        const ratio = ours.p50Ms.median / before.p50Ms.median;
        checks.push({
          target: `PostgreSQL ${op}: p50 at c=1 ≤ 1.05× sessionsql without coalescing`,
          measured: times(ratio),
          met: ratio <= 1.05,
        });
      }
    }
    // Issue 12: the features cost nothing against the minimal store (id, data, indexed expiry).
    for (const [ours, minimal, name] of [
      ['sessionsql-pg', 'minimal-pg', 'PostgreSQL'],
      ['sessionsql-sqlite', 'minimal-better-sqlite3', 'SQLite'],
    ] as const) {
      for (const op of OPERATIONS) {
        const a = store[op][ours];
        const b = store[op][minimal];
        if (!a || !b) continue;
        const floor = op === 'set-new' ? 0.8 : 0.9;
        const share = a.opsPerSec.median / b.opsPerSec.median;
        checks.push({
          target: `${name} ${op}: throughput at c=64 ≥ ${pct(floor)} of the minimal store`,
          measured: pct(share),
          met: share >= floor,
        });
        const ratio = a.p50Ms.median / b.p50Ms.median;
        checks.push({
          target: `${name} ${op}: p50 at c=1 ≤ 1.1× the minimal store`,
          measured: times(ratio),
          met: ratio <= 1.1,
        });
      }
    }
  }
  const http = result.http;
  if (http) {
    const pgLazy = http['sessionsql-pg-touch60'];
    const pgSimple = http['connect-pg-simple'];
    if (pgLazy && pgSimple) {
      const ratio = pgLazy.me.requestsPerSec.median / pgSimple.me.requestsPerSec.median;
      checks.push({
        target: 'GET /me, PostgreSQL, touchAfterMs 60000: ≥ 1.5× connect-pg-simple req/s',
        measured: times(ratio),
        met: ratio >= 1.5,
      });
    }
    const memory = http.memorystore;
    for (const key of ['sessionsql-sqlite', 'sessionsql-sqlite-touch60']) {
      const ours = http[key];
      if (ours && memory) {
        const share = ours.me.requestsPerSec.median / memory.me.requestsPerSec.median;
        checks.push({
          target: `GET /me, ${ours.label}: ≥ 90% of MemoryStore req/s`,
          measured: pct(share),
          met: share >= 0.9,
        });
      }
    }
  }
  for (const [name, s] of Object.entries(result.scale ?? {})) {
    const ratio = s.getLargeP50Ms.median / s.getSmallP50Ms.median;
    const rows = formatNumber(s.largeRows);
    const raw = s.rawGetLargeP50Ms.median / s.rawGetSmallP50Ms.median;
    checks.push({
      target: `${name}: get-hit p50 at ${rows} rows ≤ 1.2× at ${formatNumber(s.smallRows)}`,
      measured: `${times(ratio)} (raw driver: ${times(raw)})`,
      met: ratio <= 1.2,
    });
    checks.push({
      target: `${name}: countSessionsForUser p50 at ${rows} rows < 2 ms`,
      measured: formatMs(s.countLargeP50Ms.median),
      met: s.countLargeP50Ms.median < 2,
    });
    checks.push({
      target: `${name}: gets' p99 during the prune of ${formatNumber(s.prune.expiredRows)} rows < 50 ms`,
      measured: formatMs(s.prune.getP99Ms),
      met: s.prune.getP99Ms < 50,
    });
  }
  return checks;
}

function storeTables(store: StoreBenchResults): string {
  const ids = CONTENDERS.map((c) => c.id).filter((id) => store['get-hit'][id] !== undefined);
  const label = (id: string) => CONTENDERS.find((c) => c.id === id)!.label;
  const header = `| contender | ${OPERATIONS.join(' | ')} |\n|---|${OPERATIONS.map(() => '---:').join('|')}|`;
  const table = (pick: (op: (typeof OPERATIONS)[number], id: string) => string) =>
    `${header}\n${ids.map((id) => `| ${label(id)} | ${OPERATIONS.map((op) => pick(op, id)).join(' | ')} |`).join('\n')}`;
  return [
    '### Throughput at concurrency 64 (operations/s; median of rounds, min–max)',
    table((op, id) => formatSpread(store[op][id]!.opsPerSec, formatNumber)),
    '### Latency at concurrency 1: p50',
    table((op, id) => formatSpread(store[op][id]!.p50Ms, formatMs)),
    '### Latency at concurrency 1: p99',
    table((op, id) => formatMs(store[op][id]!.p99Ms.median)),
    ...serverCpuTable(store, ids, label),
  ].join('\n\n');
}

/** PostgreSQL's own CPU per 1,000 operations at concurrency 64, for the contenders on it. */
function serverCpuTable(store: StoreBenchResults, ids: string[], label: (id: string) => string): string[] {
  const onServer = ids.filter((id) => store['get-hit'][id]!.serverCpuMsPer1k !== undefined);
  if (onServer.length === 0) return [];
  const header = `| contender | ${OPERATIONS.join(' | ')} |\n|---|${OPERATIONS.map(() => '---:').join('|')}|`;
  const cell = (id: string, op: (typeof OPERATIONS)[number]) => {
    const cpu = store[op][id]!.serverCpuMsPer1k;
    return cpu === undefined ? 'n/a' : `${cpu.median.toFixed(0)} ms`;
  };
  return [
    '### PostgreSQL server CPU per 1,000 operations at concurrency 64 (median of rounds; /proc, 10 ms ticks)',
    `${header}\n${onServer.map((id) => `| ${label(id)} | ${OPERATIONS.map((op) => cell(id, op)).join(' | ')} |`).join('\n')}`,
  ];
}

/** Every framework's table, then GET /me of sessionsql against each framework's in-memory store. */
function httpTables(http: HttpBenchResults): string[] {
  const parts: string[] = [];
  for (const framework of FRAMEWORKS) {
    const rows = HTTP_VARIANTS.filter((v) => v.framework === framework && http[v.key]);
    if (rows.length === 0) continue;
    parts.push(
      `### End to end: ${FRAMEWORK_TITLES[framework]}, autocannon, 64 connections (req/s, median of rounds, min–max; p99 latency)`,
      `| store | GET /me req/s | GET /me p99 | POST /login req/s | POST /login p99 |\n|---|---:|---:|---:|---:|\n${rows
        .map((v) => {
          const r = http[v.key]!;
          return `| ${r.label} | ${formatSpread(r.me.requestsPerSec, formatNumber)} | ${formatMs(r.me.p99Ms.median)} | ${formatSpread(r.login.requestsPerSec, formatNumber)} | ${formatMs(r.login.p99Ms.median)} |`;
        })
        .join('\n')}`,
    );
  }
  const ratioRows: string[] = [];
  for (const framework of FRAMEWORKS) {
    const memory = http[inMemoryKey(framework)];
    if (!memory) continue;
    const ours = HTTP_VARIANTS.filter((v) => v.framework === framework && v.role === 'sessionsql' && http[v.key]);
    for (const v of ours) {
      const r = http[v.key]!;
      const ratio = r.me.requestsPerSec.median / memory.me.requestsPerSec.median;
      // Each round measured both side by side, so the per-round ratios show how far the noise goes.
      const perRound = r.me.requestsPerSec.rounds.map((x, i) => x / memory.me.requestsPerSec.rounds[i]!);
      ratioRows.push(
        `| ${framework} | ${r.label} | ${formatNumber(r.me.requestsPerSec.median)} | ${memory.label} | ${formatNumber(memory.me.requestsPerSec.median)} | **${pct(ratio)}** (${pct(Math.min(...perRound))}–${pct(Math.max(...perRound))}) |`,
      );
    }
  }
  if (ratioRows.length > 0) {
    parts.push(
      "### End to end, GET /me: sessionsql against each framework's own in-memory store (ratio of the medians; min–max of the per-round ratios)",
      `| framework | sessionsql | req/s | in-memory store | req/s | ratio |\n|---|---|---:|---|---:|---:|\n${ratioRows.join('\n')}`,
    );
  }
  return parts;
}

export function renderReport(result: BenchResult): string {
  const parts = [
    `## Benchmark results${result.quick ? ' (quick run: small counts, not for quoting)' : ''}`,
    `\`${result.command}\` on ${result.machine.cpu}, ${result.machine.memoryGiB} GiB, Node ${result.machine.node}, PostgreSQL ${result.machine.postgres}; ${result.rounds} interleaved round(s), ${result.startedAt}.`,
  ];
  if (result.store) parts.push(storeTables(result.store));
  if (result.http) parts.push(...httpTables(result.http));
  const scale = Object.entries(result.scale ?? {});
  if (scale.length > 0) {
    parts.push(
      '### Scale (sessionsql)',
      `| database | get-hit p50, small → large | raw driver get-hit p50, small → large | get-hit p99, small → large | countSessionsForUser p50 / p99 (large) | prune of expired rows | gets during the prune: n, p50 / p99 / max |\n|---|---:|---:|---:|---:|---:|---:|\n${scale
        .map(
          ([name, s]) =>
            `| ${name} (${formatNumber(s.smallRows)} → ${formatNumber(s.largeRows)} rows) | ${formatMs(s.getSmallP50Ms.median)} → ${formatMs(s.getLargeP50Ms.median)} | ${formatMs(s.rawGetSmallP50Ms.median)} → ${formatMs(s.rawGetLargeP50Ms.median)} | ${formatMs(s.getSmallP99Ms.median)} → ${formatMs(s.getLargeP99Ms.median)} | ${formatMs(s.countLargeP50Ms.median)} / ${formatMs(s.countLargeP99Ms.median)} | ${formatNumber(s.prune.deleted)} rows in ${s.prune.seconds.toFixed(1)} s | ${formatNumber(s.prune.getsDuring)}, ${formatMs(s.prune.getP50Ms)} / ${formatMs(s.prune.getP99Ms)} / ${formatMs(s.prune.getMaxMs)} |`,
        )
        .join('\n')}`,
    );
  }
  const checks = checkTargets(result);
  if (checks.length > 0) {
    parts.push(
      '### Targets',
      `| target | measured | met |\n|---|---:|:---:|\n${checks.map((c) => `| ${c.target} | ${c.measured} | ${c.met ? 'yes' : '**no**'} |`).join('\n')}`,
    );
  }
  return `${parts.join('\n\n')}\n`;
}
