/**
 * `npm run bench:chart`: draws the headline comparison of bench/results/latest.json as an SVG
 * (docs/benchmark.svg, shown by the README): end-to-end GET /me, and the store's get and set
 * throughput per database, every contender against the raw-driver limit.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ContenderRole } from './contender-kit.js';
import { CONTENDERS } from './contenders.js';
import { HTTP_VARIANTS } from './http-bench.js';
import { type BenchResult, RESULTS_DIR } from './results.js';
import { formatNumber } from './stats.js';

const OUTPUT = new URL('../../docs/benchmark.svg', import.meta.url);

interface Bar {
  readonly label: string;
  readonly value: number;
  readonly role: ContenderRole;
}

interface Section {
  readonly title: string;
  readonly bars: readonly Bar[];
}

const COLORS: Record<ContenderRole, string> = {
  sessionsql: '#2f5bd3',
  limit: '#8a94a6',
  peer: '#e08a3c',
  ceiling: '#4aa37a',
};

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function sections(result: BenchResult): Section[] {
  const out: Section[] = [];
  if (result.http) {
    out.push({
      title: 'End to end: GET /me with express-session, requests/s (64 connections)',
      bars: HTTP_VARIANTS.filter((v) => v.framework === 'express' && result.http![v.key]).map((v) => ({
        label: result.http![v.key]!.label,
        value: result.http![v.key]!.me.requestsPerSec.median,
        role: v.role,
      })),
    });
  }
  if (result.store) {
    for (const database of ['postgres', 'sqlite'] as const) {
      for (const [op, name] of [
        ['get-hit', 'get (hit)'],
        ['set-existing', 'set (existing id)'],
      ] as const) {
        out.push({
          title: `${database === 'postgres' ? 'PostgreSQL' : 'SQLite'}: ${name}, operations/s at concurrency 64`,
          bars: CONTENDERS.filter((c) => c.database === database && result.store![op][c.id]).map((c) => ({
            label: c.label,
            value: result.store![op][c.id]!.opsPerSec.median,
            role: c.role,
          })),
        });
      }
    }
  }
  return out;
}

function render(result: BenchResult): string {
  const width = 900;
  const labelWidth = 300;
  const barArea = width - labelWidth - 110;
  const rowHeight = 22;
  let y = 70;
  const body: string[] = [];
  for (const section of sections(result)) {
    body.push(`<text x="20" y="${y}" class="title">${escapeXml(section.title)}</text>`);
    y += 12;
    const max = Math.max(...section.bars.map((b) => b.value));
    for (const bar of section.bars) {
      const w = Math.max(1, (bar.value / max) * barArea);
      body.push(
        `<text x="${labelWidth - 8}" y="${y + 15}" class="label" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" rx="3" fill="${COLORS[bar.role]}"/>`,
        `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 15}" class="value">${formatNumber(bar.value)}</text>`,
      );
      y += rowHeight;
    }
    y += 28;
  }
  const legend = (Object.entries(COLORS) as [ContenderRole, string][])
    .map(
      ([role, color], i) =>
        `<rect x="${20 + i * 150}" y="${y - 10}" width="12" height="12" fill="${color}"/><text x="${38 + i * 150}" y="${y}" class="label">${{ sessionsql: 'sessionsql', limit: 'raw-driver limit', peer: 'other stores', ceiling: 'in-memory ceiling' }[role]}</text>`,
    )
    .join('');
  const height = y + 56;
  const captions = [
    `${result.command} · ${result.machine.cpu} · Node ${result.machine.node}`,
    `PostgreSQL ${result.machine.postgres} · median of ${result.rounds} interleaved rounds · ${result.startedAt.slice(0, 10)}`,
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" role="img">
<title>sessionsql against other session stores and the raw drivers: end-to-end requests/s and store operations/s</title>
<style>.title{font-size:15px;font-weight:600;fill:#1d2330}.label{font-size:13px;fill:#1d2330}.value{font-size:12px;fill:#5d6577}.caption{font-size:11px;fill:#5d6577}</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="20" y="32" font-size="19" font-weight="700" fill="#1d2330">sessionsql against other session stores and the raw drivers</text>
${body.join('\n')}
${legend}
<text x="20" y="${height - 30}" class="caption">${escapeXml(captions[0]!)}</text>
<text x="20" y="${height - 14}" class="caption">${escapeXml(captions[1]!)}</text>
</svg>
`;
}

const result = JSON.parse(readFileSync(new URL('latest.json', RESULTS_DIR), 'utf8')) as BenchResult;
if (result.quick)
  console.warn('draw-chart: latest.json is from a --quick run; run `npm run bench` for figures to publish.');
writeFileSync(OUTPUT, render(result));
console.log(`wrote docs/benchmark.svg from bench/results/latest.json (${result.startedAt})`);
