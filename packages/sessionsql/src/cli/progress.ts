import { Presets, SingleBar } from 'cli-progress';
import { hasColors } from './output.js';

/** A running count of work done, shown while a long command runs. */
export interface Progress {
  /** Sets the count done so far. */
  update(done: number): void;
  /** Raises the total when more work turned up than expected. */
  setTotal(total: number): void;
  /** Shows the final count and stops. */
  stop(): void;
}

/** How often a plain progress line is written when the stream is not a TTY (ms). */
const PLAIN_EVERY_MS = Number(process.env.SESSIONSQL_PROGRESS_MS) || 2000;

/**
 * Progress of `label` on `stream` (stderr, so that stdout stays data): a bar with rate and ETA
 * on a TTY, a plain line every few seconds otherwise (cli-progress's no-TTY mode).
 */
export function startProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  const started = performance.now();
  const rate = (done: number) => Math.round(done / Math.max((performance.now() - started) / 1000, 0.001));
  const bar = new SingleBar(
    {
      stream,
      format: tty
        ? `${label} [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted}`
        : `${label}: {value}/{total} ({percentage}%), {rate}/s, ETA {eta_formatted}`,
      barCompleteChar: hasColors(stream) ? Presets.shades_classic.barCompleteChar : '#',
      barIncompleteChar: hasColors(stream) ? Presets.shades_classic.barIncompleteChar : '-',
      hideCursor: tty,
      noTTYOutput: !tty,
      notTTYSchedule: PLAIN_EVERY_MS,
      etaBuffer: 50,
      fps: 10,
    },
    Presets.shades_classic,
  );
  let current = 0;
  let max = Math.max(total, 0);
  bar.start(max, 0, { rate: 0 });
  return {
    update(done) {
      current = done;
      if (done > max) {
        max = done;
        bar.setTotal(max);
      }
      bar.update(done, { rate: rate(done) });
    },
    setTotal(next) {
      max = Math.max(next, current);
      bar.setTotal(max);
    },
    stop() {
      bar.update(current, { rate: rate(current) });
      bar.stop();
    },
  };
}
