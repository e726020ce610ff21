/** Where results go, and their shape. */
import type { HttpBenchResults } from './http-bench.js';
import type { ScaleBenchResults } from './scale-bench.js';
import type { StoreBenchResults } from './store-bench.js';

/** bench/results/ (gitignored). */
export const RESULTS_DIR = new URL('../results/', import.meta.url);

/** One `npm run bench`, as written to bench/results/*.json. */
export interface BenchResult {
  readonly startedAt: string;
  readonly quick: boolean;
  readonly rounds: number;
  readonly command: string;
  readonly machine: { cpu: string; memoryGiB: number; node: string; postgres: string };
  store?: StoreBenchResults;
  http?: HttpBenchResults;
  scale?: ScaleBenchResults;
}
