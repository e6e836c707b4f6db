/**
 * `npm run bench`: every scenario in one run on this machine's services, printed as a table and,
 * with --json, one JSON object per line; then each figure as a ratio to its scenario's baseline.
 * Uses MONGODB_URI when set, else starts mongo-java-server (memory backend).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { startMongoServer } from '../tools/mongo-server.js';
import { benchStore } from './store.js';
import type { BenchResult } from './result.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const json = args.includes('--json');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const want = (name: string) => !only || only.includes(name);

type Suite = (mongoUri: string) => Promise<{ results: BenchResult[]; baselines: Record<string, string> }>;

/** Optional suites live in their own modules; each is run when present. */
async function optional(
  file: string,
  exportName: string,
  baselineOf: (r: BenchResult[]) => Record<string, string>,
): Promise<Suite | undefined> {
  if (!existsSync(join(here, file))) return undefined;
  const mod = (await import(`./${file.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>;
  const fn = mod[exportName] as
    | ((o: {
        mongoUri: string;
      }) => Promise<BenchResult[] | { results: BenchResult[]; baselines: Record<string, string> }>)
    | undefined;
  if (!fn) return undefined;
  return async (mongoUri) => {
    const out = await fn({ mongoUri });
    return Array.isArray(out) ? { results: out, baselines: baselineOf(out) } : out;
  };
}

const firstSystemPerScenario = (rs: BenchResult[]) =>
  Object.fromEntries(rs.map((r) => [r.scenario, r.system]).reverse());

async function main() {
  const server = process.env.MONGODB_URI ? undefined : await startMongoServer({ backend: 'memory' });
  const mongoUri = process.env.MONGODB_URI ?? server!.uri;
  const suites: [string, Suite | undefined][] = [
    ['store', (uri) => benchStore({ mongoUri: uri })],
    ['worker', await optional('worker.ts', 'benchWorker', firstSystemPerScenario)],
    ['ingest', await optional('ingest.ts', 'benchIngest', firstSystemPerScenario)],
    ['compare', await optional('compare.ts', 'benchCompare', firstSystemPerScenario)],
    ['admin-load', await optional('admin-load.ts', 'benchAdminLoad', firstSystemPerScenario)],
    ['isolation', await optional('isolation.ts', 'benchIsolation', firstSystemPerScenario)],
    ['ordered', await optional('ordered.ts', 'benchOrdered', firstSystemPerScenario)],
  ];
  const all: BenchResult[] = [];
  const baselines: Record<string, string> = {};
  try {
    for (const [name, suite] of suites) {
      if (!suite || !want(name)) continue;
      process.stderr.write(`bench: ${name}...\n`);
      const out = await suite(mongoUri);
      all.push(...out.results);
      Object.assign(baselines, out.baselines);
      if (json) for (const r of out.results) process.stdout.write(`${JSON.stringify(r)}\n`);
    }
  } finally {
    await server?.stop();
  }
  const ratios = all.map((r) => {
    const base = all.find(
      (b) => b.scenario === r.scenario && b.metric === r.metric && b.system === baselines[r.scenario],
    );
    return { ...r, ratio: base && base.value ? r.value / base.value : undefined, baseline: baselines[r.scenario] };
  });
  if (json) {
    for (const r of ratios)
      if (r.ratio !== undefined && r.system !== r.baseline)
        process.stdout.write(
          `${JSON.stringify({ scenario: r.scenario, system: r.system, metric: `${r.metric} ratio vs ${r.baseline}`, value: Math.round(r.ratio * 1000) / 1000, unit: 'x' })}\n`,
        );
    return;
  }
  const rows = ratios.map((r) => [
    r.scenario,
    r.system,
    r.metric,
    `${r.value} ${r.unit}`,
    r.ratio === undefined ? '' : r.system === r.baseline ? 'baseline' : `${r.ratio.toFixed(2)}x`,
  ]);
  const head = ['scenario', 'system', 'metric', 'value', 'vs baseline'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
