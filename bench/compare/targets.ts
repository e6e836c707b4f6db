/** The issue's targets, checked against one run's figures and reported as rows of their own. */
import type { BenchResult } from '../result.js';
import { FIND_ONE_AND_UPDATE_CEILING } from './scenarios/batch.js';

export const TARGETS_SCENARIO = 'targets (issue 9)';

const find = (
  rs: readonly BenchResult[],
  scenario: (s: string) => boolean,
  system: (s: string) => boolean,
  metric: string,
) => rs.find((r) => scenario(r.scenario) && system(r.system) && r.metric === metric);

const verdict = (ok: boolean) => (ok ? 'x (met)' : 'x (NOT met)');
const r3 = (x: number) => Math.round(x * 1000) / 1000;

export function targetRows(rs: readonly BenchResult[]): BenchResult[] {
  const out: BenchResult[] = [];
  const c16 = [
    ['1 process', (s: string) => s.startsWith('claim+complete') && s.includes('concurrency 16, 1 worker')],
    ['4 processes', (s: string) => s.startsWith('claim+complete') && s.includes('concurrency 16 per process')],
  ] as const;
  for (const [where, scenario] of c16) {
    const ours = find(rs, scenario, (s) => s === 'taskmesh', 'throughput');
    if (!ours) continue;
    const rivals: [string, (s: string) => boolean, number][] = [
      ['Agenda', (s) => s.startsWith('agenda'), 3],
      ['pg-boss', (s) => s.startsWith('pg-boss'), 1],
      ['BullMQ', (s) => s.startsWith('bullmq'), 1],
    ];
    for (const [name, system, min] of rivals) {
      const theirs = find(rs, scenario, system, 'throughput');
      if (!theirs || !theirs.value) continue;
      const ratio = ours.value / theirs.value;
      out.push({
        scenario: TARGETS_SCENARIO,
        system: 'taskmesh',
        metric: `concurrency 16, ${where}: throughput / ${name} (target ${min === 1 ? '> 1' : `>= ${min}`})`,
        value: r3(ratio),
        unit: verdict(min === 1 ? ratio > 1 : ratio >= min),
      });
    }
  }
  const batchScenario = (s: string) => s.startsWith('batch mode');
  const ceiling = find(rs, batchScenario, (s) => s === FIND_ONE_AND_UPDATE_CEILING, 'throughput');
  const batch = find(rs, batchScenario, (s) => s.includes('BatchSize 16'), 'throughput');
  if (ceiling && batch && ceiling.value) {
    const ratio = batch.value / ceiling.value;
    out.push({
      scenario: TARGETS_SCENARIO,
      system: 'taskmesh',
      metric: 'BatchSize 16 / findOneAndUpdate ceiling (target >= 2)',
      value: r3(ratio),
      unit: verdict(ratio >= 2),
    });
  }
  const growth = rs.find((r) => r.metric.startsWith('peak RSS growth'));
  if (growth)
    out.push({
      scenario: TARGETS_SCENARIO,
      system: 'taskmesh',
      metric: `worker ${growth.metric.replace(' (target <= 1.10)', '')} (target <= 1.10)`,
      value: growth.value,
      unit: verdict(growth.value <= 1.1),
    });
  return out;
}
