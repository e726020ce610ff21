/**
 * End to end: the app of http-server.ts in its own process per contender, driven by
 * autocannon from this one at 64 connections: GET /me with ~1,000 signed-in session cookies
 * rotated per request, and POST /login (a new session each). Contenders interleaved per round.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { BenchEnv } from './bench-env.js';
import { CONTENDERS, type Contender } from './contenders.js';
import { type Summary, summarize } from './stats.js';

export interface HttpBenchConfig {
  readonly durationSec: number;
  readonly connections: number;
  /** Distinct signed-in sessions GET /me rotates through. */
  readonly cookies: number;
  readonly rounds: number;
}

/** One row of the end-to-end table: a contender, possibly with `touchAfterMs`. */
export interface HttpVariant {
  readonly key: string;
  readonly label: string;
  readonly contender: Contender;
  readonly touchAfterMs: number;
}

export interface EndpointResult {
  readonly requestsPerSec: Summary;
  readonly p99Ms: Summary;
}

/** results[variant key] */
export type HttpBenchResults = Record<string, { label: string; me: EndpointResult; login: EndpointResult }>;

const SERVER = fileURLToPath(new URL('./http-server.js', import.meta.url));

export const HTTP_VARIANTS: readonly HttpVariant[] = CONTENDERS.flatMap((contender) => {
  const plain = { key: contender.id, label: contender.label, contender, touchAfterMs: 0 };
  if (contender.role !== 'sessionsql') return [plain];
  return [
    plain,
    {
      key: `${contender.id}-touch60`,
      label: `${contender.label}, touchAfterMs 60000`,
      contender,
      touchAfterMs: 60_000,
    },
  ];
});

async function startServer(env: BenchEnv, variant: HttpVariant) {
  const child = spawn(process.execPath, [SERVER, variant.contender.id, String(variant.touchAfterMs)], {
    env: { ...process.env, BENCH_ENV: JSON.stringify(env) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line).port));
    child.once('exit', (code) => reject(new Error(`${variant.key}: the app exited with code ${code}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function signIn(base: string, count: number): Promise<string[]> {
  const cookies: string[] = [];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (cookies.length < count) {
        const response = await fetch(`${base}/login`, { method: 'POST' });
        await response.arrayBuffer();
        const cookie = response.headers.getSetCookie()[0]?.split(';')[0];
        if (response.status !== 200 || !cookie) throw new Error(`POST /login answered ${response.status}`);
        cookies.push(cookie);
      }
    }),
  );
  const me = await fetch(`${base}/me`, { headers: { cookie: cookies[0]! } });
  const body = (await me.json()) as { userId?: string | null };
  if (!body.userId) throw new Error('a signed-in cookie was not recognised by GET /me');
  return cookies;
}

async function load(
  base: string,
  path: '/me' | '/login',
  cookies: string[],
  config: HttpBenchConfig,
  duration: number,
) {
  let next = 0;
  const result = await autocannon({
    url: base,
    connections: config.connections,
    duration,
    requests: [
      path === '/me'
        ? {
            method: 'GET',
            path,
            setupRequest: (request) => {
              request.headers = { ...request.headers, cookie: cookies[next++ % cookies.length]! };
              return request;
            },
          }
        : { method: 'POST', path },
    ],
  });
  if (result.errors > 0 || result.non2xx > 0 || result.timeouts > 0) {
    throw new Error(`${base}${path}: ${result.errors} errors, ${result.non2xx} non-2xx, ${result.timeouts} timeouts`);
  }
  return { requestsPerSec: result.requests.average, p99Ms: result.latency.p99 };
}

export async function runHttpBench(
  env: BenchEnv,
  config: HttpBenchConfig,
  log: (line: string) => void,
): Promise<HttpBenchResults> {
  const raw = new Map<string, { me: number[]; meP99: number[]; login: number[]; loginP99: number[] }>();
  for (const v of HTTP_VARIANTS) raw.set(v.key, { me: [], meP99: [], login: [], loginP99: [] });
  for (let round = 1; round <= config.rounds; round++) {
    log(`  round ${round}/${config.rounds}`);
    for (const variant of HTTP_VARIANTS) {
      const server = await startServer(env, variant);
      try {
        const cookies = await signIn(server.base, config.cookies);
        await load(server.base, '/me', cookies, config, 1); // warm-up
        const me = await load(server.base, '/me', cookies, config, config.durationSec);
        const login = await load(server.base, '/login', cookies, config, config.durationSec);
        const entry = raw.get(variant.key)!;
        entry.me.push(me.requestsPerSec);
        entry.meP99.push(me.p99Ms);
        entry.login.push(login.requestsPerSec);
        entry.loginP99.push(login.p99Ms);
        log(
          `    ${variant.label}: GET /me ${Math.round(me.requestsPerSec)} req/s, POST /login ${Math.round(login.requestsPerSec)} req/s`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  const results: HttpBenchResults = {};
  for (const v of HTTP_VARIANTS) {
    const e = raw.get(v.key)!;
    results[v.key] = {
      label: v.label,
      me: { requestsPerSec: summarize(e.me), p99Ms: summarize(e.meP99) },
      login: { requestsPerSec: summarize(e.login), p99Ms: summarize(e.loginP99) },
    };
  }
  return results;
}
