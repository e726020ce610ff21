import { styleText } from 'node:util';

/** Where a command writes: results to `out`, progress and errors to `err`. */
export interface CliStreams {
  readonly out: NodeJS.WritableStream & { isTTY?: boolean };
  readonly err: NodeJS.WritableStream & { isTTY?: boolean };
}

/** The process's own streams. */
export const STDIO: CliStreams = { out: process.stdout, err: process.stderr };

/** Whether `stream` takes colors: a TTY, and `NO_COLOR` unset or empty (https://no-color.org). */
export function hasColors(stream: { isTTY?: boolean }): boolean {
  const noColor = process.env.NO_COLOR;
  return stream.isTTY === true && (noColor === undefined || noColor === '');
}

type Style = 'green' | 'red' | 'yellow' | 'bold' | 'dim';

/** `text` in `style` when `stream` takes colors, else as is. */
export function paint(stream: { isTTY?: boolean }, style: Style, text: string): string {
  return hasColors(stream) ? styleText(style, text) : text;
}

/** Writes one line to `stream`. */
export function line(stream: NodeJS.WritableStream, text = ''): void {
  stream.write(`${text}\n`);
}

/** Rows of cells as aligned columns, the first row as header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Bytes as `12.3 MB`, or `n/a`. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return 'n/a';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A time in ms as ISO 8601, or `-`. */
export function formatTime(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

/** A whole number with thousands separators. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Milliseconds since `start` (a `performance.now()`), as `12.3 ms`. */
export function since(start: number): string {
  return `${(performance.now() - start).toFixed(1)} ms`;
}
