/**
 * End to end: one app per framework (express-server.ts, fastify-server.ts, koa-server.ts, hono-server.ts), in
 * its own process per variant, driven by autocannon from this one at 64 connections: GET /me
 * with ~1,000 signed-in session cookies rotated per request, and POST /login (a new session
 * each). Variants interleaved per round.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { BenchEnv } from './bench-env.js';
import type { ContenderRole } from './contender-kit.js';
import { CONTENDERS } from './contenders.js';
import { FRAMEWORK_STORES, type FrameworkStore } from './http-app.js';
import { type Summary, summarize } from './stats.js';

export interface HttpBenchConfig {
  readonly durationSec: number;
  readonly connections: number;
  /** Distinct signed-in sessions GET /me rotates through. */
  readonly cookies: number;
  readonly rounds: number;
  /** Frameworks to run; every one when left out. */
  readonly frameworks?: readonly Framework[];
}

export const FRAMEWORKS = ['express', 'fastify', 'koa', 'hono'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** How the report and the chart name each framework's app. */
export const FRAMEWORK_TITLES: Record<Framework, string> = {
  express: 'express 5 + express-session',
  fastify: 'fastify 5 + @fastify/session 11 (rolling: every response saves the session)',
  koa: 'koa 3 + koa-session 7, external store (rolling: every response saves the session)',
  hono: 'hono 4 + hono-sessions 0.8 (autoExtendExpiration: every response saves the session)',
};

/** One row of an end-to-end table: a framework on a store, possibly with `touchAfterMs`. */
export interface HttpVariant {
  /** Express rows keep their contender's id as key (as in earlier results); others are `<framework>-<store>`. */
  readonly key: string;
  readonly label: string;
  readonly framework: Framework;
  /** A contender id for express, a {@link FrameworkStore} otherwise. */
  readonly store: string;
  readonly role: ContenderRole;
  readonly touchAfterMs: number;
}

/** What each framework calls its own in-memory store. */
const MEMORY_LABELS: Record<Exclude<Framework, 'express'>, string> = {
  fastify: "@fastify/session's MemoryStore",
  koa: 'koa-session, in-memory external store (a Map)',
  hono: "hono-sessions' MemoryStore",
};

const STORE_LABELS: Record<Exclude<FrameworkStore, 'memory'>, string> = {
  'sessionsql-sqlite': 'sessionsql (SQLite)',
  'sessionsql-pg': 'sessionsql (PostgreSQL)',
};

const TOUCH_AFTER_MS = 60_000;
const withTouchAfter = (label: string) => `${label}, touchAfterMs ${TOUCH_AFTER_MS}`;

const SERVERS: Record<Framework, string> = {
  express: fileURLToPath(new URL('./express-server.js', import.meta.url)),
  fastify: fileURLToPath(new URL('./fastify-server.js', import.meta.url)),
  koa: fileURLToPath(new URL('./koa-server.js', import.meta.url)),
  hono: fileURLToPath(new URL('./hono-server.js', import.meta.url)),
};

const expressVariants: HttpVariant[] = CONTENDERS.filter((c) => !c.storeOnly).flatMap((contender) => {
  const plain = {
    key: contender.id,
    label: contender.label,
    framework: 'express' as const,
    store: contender.id,
    role: contender.role,
    touchAfterMs: 0,
  };
  if (contender.role !== 'sessionsql') return [plain];
  return [
    plain,
    { ...plain, key: `${contender.id}-touch60`, label: withTouchAfter(contender.label), touchAfterMs: TOUCH_AFTER_MS },
  ];
});

const frameworkVariants = (framework: Exclude<Framework, 'express'>): HttpVariant[] =>
  FRAMEWORK_STORES.flatMap((store): HttpVariant[] => {
    const key = `${framework}-${store}`;
    if (store === 'memory')
      return [{ key, label: MEMORY_LABELS[framework], framework, store, role: 'ceiling', touchAfterMs: 0 }];
    const plain = { key, label: STORE_LABELS[store], framework, store, role: 'sessionsql' as const, touchAfterMs: 0 };
    return [
      plain,
      { ...plain, key: `${key}-touch60`, label: withTouchAfter(plain.label), touchAfterMs: TOUCH_AFTER_MS },
    ];
  });

/** Every end-to-end row, in the order the tables list them. */
export const HTTP_VARIANTS: readonly HttpVariant[] = [
  ...expressVariants,
  ...frameworkVariants('fastify'),
  ...frameworkVariants('koa'),
  ...frameworkVariants('hono'),
];

/** The key of a framework's own in-memory store row. */
export function inMemoryKey(framework: Framework): string {
  return framework === 'express' ? 'memorystore' : `${framework}-memory`;
}

export interface EndpointResult {
  readonly requestsPerSec: Summary;
  readonly p99Ms: Summary;
}

/** results[variant key] */
export type HttpBenchResults = Record<string, { label: string; me: EndpointResult; login: EndpointResult }>;

async function startServer(env: BenchEnv, variant: HttpVariant) {
  const child = spawn(process.execPath, [SERVERS[variant.framework], variant.store, String(variant.touchAfterMs)], {
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
        // Every cookie the app sets: koa-session's signature comes in a second one.
        const cookie = response.headers
          .getSetCookie()
          .map((c) => c.split(';')[0])
          .join('; ');
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
  const frameworks = config.frameworks ?? FRAMEWORKS;
  const variants = HTTP_VARIANTS.filter((v) => frameworks.includes(v.framework));
  const raw = new Map<string, { me: number[]; meP99: number[]; login: number[]; loginP99: number[] }>();
  for (const v of variants) raw.set(v.key, { me: [], meP99: [], login: [], loginP99: [] });
  for (let round = 1; round <= config.rounds; round++) {
    log(`  round ${round}/${config.rounds}`);
    for (const variant of variants) {
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
          `    ${variant.framework}, ${variant.label}: GET /me ${Math.round(me.requestsPerSec)} req/s, POST /login ${Math.round(login.requestsPerSec)} req/s`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  const results: HttpBenchResults = {};
  for (const v of variants) {
    const e = raw.get(v.key)!;
    results[v.key] = {
      label: v.label,
      me: { requestsPerSec: summarize(e.me), p99Ms: summarize(e.meP99) },
      login: { requestsPerSec: summarize(e.login), p99Ms: summarize(e.loginP99) },
    };
  }
  return results;
}
