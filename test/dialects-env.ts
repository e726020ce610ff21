/** Every dialect the store suite runs on. */
export const ALL_DIALECTS = ['sqlite-memory', 'sqlite-file', 'postgres'] as const;
export type DialectName = (typeof ALL_DIALECTS)[number];

/**
 * The dialects picked by the `DIALECTS` env var (comma-separated; `sqlite` means both SQLite
 * variants); all of them when unset. An unknown name is an error, not a silent no-op.
 */
export function selectedDialects(env: NodeJS.ProcessEnv = process.env): DialectName[] {
  const raw = env.DIALECTS?.trim();
  if (!raw) return [...ALL_DIALECTS];
  const picked = new Set<DialectName>();
  for (const word of raw.split(',').map((w) => w.trim().toLowerCase())) {
    const matches = ALL_DIALECTS.filter((d) => d === word || d.split('-')[0] === word);
    if (matches.length === 0) {
      throw new Error(
        `DIALECTS=${raw}: unknown dialect "${word}". Use any of sqlite, postgres, ${ALL_DIALECTS.join(', ')}.`,
      );
    }
    for (const m of matches) picked.add(m);
  }
  return ALL_DIALECTS.filter((d) => picked.has(d));
}
