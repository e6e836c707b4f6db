/**
 * Turns `npm run bench -- --json` output into the markdown table of docs/benchmarks.md:
 *   npm run bench -- --json > run.jsonl && npx tsx bench/compare/markdown.ts run.jsonl
 * Ratio rows ("... ratio vs <baseline>") are folded into the figure they belong to.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

const row = z.object({
  scenario: z.string(),
  system: z.string(),
  metric: z.string(),
  value: z.number(),
  unit: z.string(),
});
type Row = z.infer<typeof row>;

const file = process.argv[2];
if (!file) throw new Error('usage: markdown.ts <file of JSON lines>');
const rows: Row[] = [];
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (!line.startsWith('{')) continue;
  const parsed = row.safeParse(JSON.parse(line));
  if (parsed.success) rows.push(parsed.data);
}
const ratioOf = new Map<string, string>();
const figures: Row[] = [];
for (const r of rows) {
  const m = / ratio vs (.*)$/.exec(r.metric);
  if (m) ratioOf.set(`${r.scenario}\u0000${r.system}\u0000${r.metric.slice(0, m.index)}`, `${r.value}x`);
  else figures.push(r);
}
const esc = (s: string) => s.replace(/\|/g, '\\|');
let scenario = '';
for (const r of figures) {
  if (r.scenario !== scenario) {
    scenario = r.scenario;
    console.log(`\n**${esc(scenario)}**\n\n| system | metric | value | ratio to baseline |\n| --- | --- | --- | --- |`);
  }
  const ratio =
    ratioOf.get(`${r.scenario}\u0000${r.system}\u0000${r.metric}`) ??
    (rows.some(
      (o) =>
        o.scenario === r.scenario && o.system !== r.system && o.metric.startsWith(`${r.metric} ratio vs ${r.system}`),
    )
      ? 'baseline'
      : '');
  console.log(`| ${esc(r.system)} | ${esc(r.metric)} | ${r.value} ${esc(r.unit)} | ${ratio} |`);
}
