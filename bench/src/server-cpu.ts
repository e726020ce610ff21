/**
 * CPU time of the PostgreSQL server, read from /proc (Linux, the server on this machine): at
 * cluster scale the database is the shared resource, so the store benchmark reports how much
 * of it each operation costs, not only how fast the client goes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

/** Clock ticks per second of /proc times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, …]. */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The server's postmaster process, found as the parent of a backend; undefined when not on this machine. */
export async function findPostmaster(postgresUrl: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    const fields = statFields(rows[0]!.pid);
    return fields === undefined ? undefined : Number(fields[1]);
  } finally {
    await client.end();
  }
}

/**
 * Milliseconds of CPU the server has used so far: the postmaster's own and that of its exited
 * children (cutime, cstime), plus every running child's (its backends and workers).
 */
export function serverCpuMs(postmaster: number): number {
  const own = statFields(postmaster);
  if (own === undefined) return Number.NaN;
  // utime, stime, cutime, cstime are fields 14–17 of stat: 11–14 after the command name.
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields !== undefined && Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}
