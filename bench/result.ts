/** One measured figure; `npm run bench -- --json` prints one per line. */
export interface BenchResult {
  scenario: string;
  system: string;
  metric: string;
  value: number;
  unit: string;
}

/** Scenario -> the system every other system in it is compared with. */
export type Baselines = Record<string, string>;

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export const perSecond = (count: number, ms: number) => Math.round((count / ms) * 1000 * 10) / 10;
