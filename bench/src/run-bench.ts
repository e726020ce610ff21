/**
 * `npm run bench [-- --quick] [-- --only store,http,scale] [-- --rounds N] [-- --contenders id,id]
 * [-- --frameworks express,fastify,koa,hono]`: every benchmark (`--contenders` narrows the store
 * part, e.g. to a head-to-head; `--frameworks` the end-to-end part), contenders interleaved in
 * rounds; results as JSON and markdown under bench/results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openBenchEnv } from './bench-env.js';
import { CONTENDERS, contenderById } from './contenders.js';
import { FRAMEWORKS, type Framework, runHttpBench } from './http-bench.js';
import { renderReport } from './report.js';
import { type BenchResult, RESULTS_DIR } from './results.js';
import { runScaleBench } from './scale-bench.js';
import { runStoreBench } from './store-bench.js';

const SUITES = ['store', 'http', 'scale'] as const;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    contenders: { type: 'string' },
    frameworks: { type: 'string' },
  },
});
const quick = values.quick ?? false;
const only = values.only === undefined ? [...SUITES] : values.only.split(',').map((s) => s.trim());
for (const name of only) {
  if (!(SUITES as readonly string[]).includes(name)) {
    console.error(`--only takes ${SUITES.join(', ')} (comma-separated); got "${name}"`);
    process.exit(2);
  }
}
let storeContenders = CONTENDERS;
try {
  if (values.contenders !== undefined)
    storeContenders = values.contenders.split(',').map((id) => contenderById(id.trim()));
} catch (error) {
  console.error(`--contenders: ${(error as Error).message}`);
  process.exit(2);
}
const frameworks = (values.frameworks?.split(',').map((s) => s.trim()) ?? [...FRAMEWORKS]) as Framework[];
for (const name of frameworks) {
  if (!(FRAMEWORKS as readonly string[]).includes(name)) {
    console.error(`--frameworks takes ${FRAMEWORKS.join(', ')} (comma-separated); got "${name}"`);
    process.exit(2);
  }
}
const rounds = values.rounds === undefined ? (quick ? 1 : 5) : Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds takes a whole number of at least 1; got "${values.rounds}"`);
  process.exit(2);
}

const log = (line: string) => console.log(line);
const started = new Date();
const env = await openBenchEnv();
let exitCode = 0;
try {
  const client = new pg.Client({ connectionString: env.postgresUrl });
  await client.connect();
  const { rows } = await client.query<{ server_version: string }>('show server_version');
  await client.end();
  const machine = {
    cpu: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres: `${rows[0]?.server_version ?? '?'} (${env.source})`,
  };
  log(
    `sessionsql benchmarks${quick ? ' (quick)' : ''}: ${machine.cpu}, Node ${machine.node}, PostgreSQL ${machine.postgres}`,
  );

  const result: BenchResult = {
    startedAt: started.toISOString(),
    quick,
    rounds,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine,
  };
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  // Written after every part, so that a failure late in a long run keeps what was measured.
  const save = () => {
    const markdown = renderReport(result);
    writeFileSync(new URL(`${stamp}.json`, RESULTS_DIR), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(new URL('latest.json', RESULTS_DIR), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(new URL('latest.md', RESULTS_DIR), markdown);
    return markdown;
  };
  if (only.includes('store')) {
    log('\nstore operations');
    result.store = await runStoreBench(
      env,
      storeContenders,
      quick
        ? { prefill: 10_000, latencyOps: 300, throughputOps: 2_000, concurrency: 64, rounds }
        : { prefill: 10_000, latencyOps: 2_000, throughputOps: 12_000, concurrency: 64, rounds },
      log,
    );
    save();
  }
  if (only.includes('http')) {
    log(`\nend to end (${frameworks.join(', ')} + autocannon)`);
    result.http = await runHttpBench(
      env,
      quick
        ? { durationSec: 1, connections: 64, cookies: 200, rounds, frameworks }
        : { durationSec: 4, connections: 64, cookies: 1000, rounds, frameworks },
      log,
    );
    save();
  }
  if (only.includes('scale')) {
    log('\nscale');
    result.scale = await runScaleBench(
      env,
      quick ? { largeRows: 100_000, samples: 300 } : { largeRows: 1_000_000, samples: 2_000 },
      log,
    );
  }
  log(`\n${save()}`);
  log(`results: bench/results/${stamp}.json, bench/results/latest.md`);
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await env.close();
}
// Some peers leave timers of their own running (better-sqlite3-session-store's interval).
process.exit(exitCode);
