/** The exit codes of the `sessionsql` command (documented in `sessionsql --help`). */
export const EXIT = {
  /** Everything asked was done (`check`: every step passed). */
  ok: 0,
  /** The database failed or refused, a check failed, a copy did not verify. */
  failure: 1,
  /** Bad usage: unknown command or flag, bad URL, `--from` equal to `--to`; nothing was touched. */
  usage: 2,
  /** Stopped by Ctrl-C (SIGINT); a `copy` resumes where it stopped. */
  interrupted: 130,
} as const;

/** The exit-code table, as `--help` prints it. */
export const EXIT_CODE_HELP = `Exit codes:
  0    ok
  1    failure: the database failed or refused, a check failed, a copy did not verify
  2    bad usage: unknown command or flag, bad URL, --from equal to --to (nothing touched)
  130  interrupted (Ctrl-C); run the same copy again to resume`;

/** A mistake in the command line: reported with exit code 2, before anything is touched. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure the command reports itself (exit code 1), its message already says what to do. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
}

/** Ctrl-C stopped the command at a safe point (exit code 130). */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
}
