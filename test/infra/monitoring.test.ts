/**
 * The alerts and dashboards of both templates against what the code emits: every metric name and
 * dimension the Azure queries read is one lib/telemetry writes, every log message and field the SLS
 * queries read is written by a logger call in lib/ (field paths as the TypeScript checker types
 * them), and both clouds watch the same five signals with thresholds that are parameters. Planted
 * drifts (an unknown metric, message or field) fail.
 */
import { readFileSync } from 'node:fs';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log/logger.js';
import { logTaskBacklog, metricNames, observeTaskBacklog, useMeterProvider } from '../../lib/telemetry/metrics.js';
import * as aliyun from './support/aliyun.js';
import { firstObject, objectEntries, parseBicep } from './support/bicep.js';
import { repoPath } from './support/drift.js';
import { parseHcl, type Block, type TerraformConfig } from './support/hcl.js';
import {
  azurePlatformMetricReadings,
  azurePlatformMetrics,
  azureQueries,
  emittedLogLines,
  emittedMetricAttributes,
  emittedMetricNames,
  functionComputeLogFields,
  slsBindingProblems,
  slsQueries,
  type KqlReadings,
} from './support/monitoring.js';

const alertsBicep = readFileSync(repoPath('infra', 'azure', 'modules', 'alerts.bicep'), 'utf8');
const monitoringTf = readFileSync(repoPath('infra', 'aliyun', 'monitoring.tf'), 'utf8');

function kqlProblems(r: KqlReadings): string[] {
  const names = new Set(emittedMetricNames());
  const attributes = emittedMetricAttributes();
  const problems: string[] = [];
  for (const [q, metrics] of r.metrics)
    for (const m of metrics)
      if (!names.has(m))
        problems.push(
          `alerts.bicep ${q}: reads metric ${m}, which lib/telemetry/metrics.ts metricNames does not define`,
        );
  for (const [q, dims] of r.dimensions)
    for (const d of dims)
      if (!attributes.has(d))
        problems.push(`alerts.bicep ${q}: reads customDimensions["${d}"], an attribute lib/telemetry never writes`);
  return problems;
}

/** The logstore index's fields (the dynamic field_search's keys). */
function indexedFields(cfg: TerraformConfig): string[] {
  const index = cfg.resources.alicloud_log_store_index?.functions as Block | undefined;
  const dynamic = (index?.dynamic as Record<string, Block[]> | undefined)?.field_search?.[0];
  const forEach = dynamic?.for_each;
  return forEach && typeof forEach === 'object' && !Array.isArray(forEach) ? Object.keys(forEach) : [];
}

describe('infra/azure alerts and workbook (modules/alerts.bicep)', () => {
  it('read only metric names and dimensions the code emits', () => {
    const r = azureQueries(alertsBicep);
    expect([...r.metrics.values()].flat().length).toBeGreaterThan(0);
    expect(kqlProblems(r)).toEqual([]);
    for (const { namespace, metric } of azurePlatformMetricReadings(alertsBicep)) {
      expect(
        azurePlatformMetrics[
          Object.keys(azurePlatformMetrics).find((k) => k.toLowerCase() === namespace.toLowerCase()) ?? namespace
        ] ?? [],
      ).toContain(metric);
    }
  });

  it('fail on a metric name the code does not emit, and on an unknown dimension', () => {
    const planted = alertsBicep.replace(
      'customMetrics | where name == "taskmesh.tasks.reclaimed" | summarize reclaimed',
      'customMetrics | where name == "taskmesh.tasks.reclaims" | summarize reclaimed',
    );
    expect(planted).not.toBe(alertsBicep);
    expect(kqlProblems(azureQueries(planted))).toEqual([
      'alerts.bicep queries.reclaimed: reads metric taskmesh.tasks.reclaims, which lib/telemetry/metrics.ts metricNames does not define',
    ]);
    const dim = alertsBicep.replace('customDimensions["reclaim.outcome"]', 'customDimensions["reclaim.result"]');
    expect(kqlProblems(azureQueries(dim))).toEqual([
      'alerts.bicep charts.reclaimed: reads customDimensions["reclaim.result"], an attribute lib/telemetry never writes',
    ]);
  });

  it('watch the five signals, with every threshold a parameter passed from main.bicep', () => {
    const file = parseBicep(alertsBicep);
    const logAlerts = (file.vars.get('logAlerts') ?? '').match(/key: '([\w-]+)'/g)?.map((k) => k.slice(6, -1));
    expect(logAlerts).toEqual([
      'dead-letter-depth',
      'oldest-runnable-task',
      'failure-rate',
      'stalled-tasks-reclaimed',
      'function-failures',
    ]);
    expect(file.resources.map((r) => r.type).sort()).toEqual([
      'Microsoft.Insights/actionGroups',
      'Microsoft.Insights/metricAlerts',
      'Microsoft.Insights/scheduledQueryRules',
      'Microsoft.Insights/workbooks',
    ]);
    const main = parseBicep(readFileSync(repoPath('infra', 'azure', 'main.bicep'), 'utf8'));
    const call = main.modules.find((m) => m.path === 'modules/alerts.bicep');
    expect(call).toBeDefined();
    for (const p of [
      'deadLetterThreshold',
      'oldestTaskAgeMinutes',
      'failureRatePercent',
      'failureRateMinAttempts',
      'reclaimedThreshold',
      'functionFailuresThreshold',
      'window',
      'actionGroupId',
      'emailReceivers',
    ]) {
      const given = call!.params.get(p);
      expect(given, p).toBeDefined();
      expect(main.params.has(given!), `${p} is passed ${given}, a parameter of main.bicep`).toBe(true);
    }
    // The workbook shows every alert query's metric too.
    const r = azureQueries(alertsBicep);
    const charted = new Set([...r.metrics].filter(([k]) => k.startsWith('charts.')).flatMap(([, v]) => v));
    for (const [k, v] of r.metrics)
      if (k.startsWith('queries.')) for (const m of v) expect(charted, `${k} ${m}`).toContain(m);
  });

  it('alert on the oldest runnable task through the gauge lib/telemetry defines for it', () => {
    const r = azureQueries(alertsBicep);
    expect(r.metrics.get('queries.oldestRunnableAge')).toEqual([metricNames.oldestRunnableAge]);
    const metricAlert = parseBicep(alertsBicep).resources.find((x) => x.type === 'Microsoft.Insights/metricAlerts')!;
    expect(objectEntries(firstObject(metricAlert.body)!).get('properties')).toMatch(/threshold: deadLetterThreshold/);
  });
});

describe('infra/aliyun alerts and dashboard (monitoring.tf)', () => {
  let cfg: TerraformConfig;
  beforeAll(async () => {
    cfg = await aliyun.loadAliyun();
  });

  it('read only log messages and fields the code writes, and indexed Function Compute fields', () => {
    const queries = slsQueries(cfg);
    expect(queries.length).toBeGreaterThanOrEqual(10);
    expect(slsBindingProblems(queries, emittedLogLines(), indexedFields(cfg))).toEqual([]);
    for (const f of indexedFields(cfg)) expect(functionComputeLogFields).toContain(f);
  });

  it('fail on a log message no code writes, and on a field its line does not have', async () => {
    const lines = emittedLogLines();
    const fields = indexedFields(cfg);
    const renamed = await parseMonitoring(
      monitoringTf.replace("= 'reclaimer pass done'\"\n", "= 'reclaimer run done'\"\n"),
    );
    expect(slsBindingProblems(slsQueries(renamed), lines, fields)).toEqual([
      "local.sls_queries.stalled_tasks_reclaimed: reads log message 'reclaimer run done', which no logger call in lib/ writes",
    ]);
    const field = await parseMonitoring(
      monitoringTf.replace(
        "'$.outcomes.retrying') AS bigint), 0) + coalesce",
        "'$.outcomes.retried') AS bigint), 0) + coalesce",
      ),
    );
    const problems = slsBindingProblems(slsQueries(field), lines, fields);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^local\.sls_queries\.failure_rate: reads outcomes\.retried of 'processor invocation done', which lib\/app\/invocations\.ts does not write/,
    );
  });

  it('watch the five signals with thresholds that are variables, and keep one log entry per JSON line', () => {
    expect(Object.keys(cfg.locals.sls_alerts as Record<string, unknown>).sort()).toEqual([
      'dead-letters',
      'failure-rate',
      'function-failures',
      'oldest-runnable-task',
      'stalled-tasks-reclaimed',
    ]);
    for (const v of [
      'alert_dead_letter_threshold',
      'alert_oldest_task_age_minutes',
      'alert_failure_rate_percent',
      'alert_failure_rate_min_attempts',
      'alert_reclaimed_threshold',
      'alert_function_failures_threshold',
      'alert_window_minutes',
    ]) {
      expect(cfg.variables[v]?.default, v).toBeTypeOf('number');
      expect(monitoringTf, v).toContain(`var.${v}`);
    }
    expect(Object.keys(cfg.resources.alicloud_log_alert ?? {})).toEqual(['taskmesh']);
    expect(Object.keys(cfg.resources.alicloud_log_dashboard ?? {})).toEqual(['taskmesh']);
    // The dead-letter alarm watches the dead-letter queue the functions use.
    expect(JSON.stringify(cfg.resources.alicloud_cms_alarm?.dead_letters)).toContain(
      'alicloud_message_service_queue.dead_letter.queue_name',
    );
    const fn = cfg.resources.alicloud_fcv3_function?.fn as Block;
    expect((fn.log_config as Block[])[0]!.log_begin_rule).toBe('None');
  });
});

describe('the oldest-runnable-task signal in lib/telemetry', () => {
  afterEach(() => useMeterProvider(undefined));

  it('observes TaskStats.oldestClaimableAgeMs as the gauge the Azure alert reads, nothing when no task is runnable', async () => {
    // Delta, as @azure/monitor-opentelemetry-exporter selects for gauges: a collection without an
    // observation exports no point.
    const exporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    useMeterProvider(new MeterProvider({ readers: [reader] }));
    let age: number | null = 90_000;
    const stop = observeTaskBacklog(async () => ({ oldestClaimableAgeMs: age }));
    const collect = async () => {
      exporter.reset();
      await reader.forceFlush();
      return exporter
        .getMetrics()
        .flatMap((m) => m.scopeMetrics.flatMap((s) => s.metrics))
        .find((m) => m.descriptor.name === metricNames.oldestRunnableAge);
    };
    expect((await collect())?.dataPoints.map((p) => p.value)).toEqual([90_000]);
    age = null;
    expect((await collect())?.dataPoints ?? []).toEqual([]);
    stop();
  });

  it('writes the line the SLS alert reads', () => {
    const lines: string[] = [];
    logTaskBacklog(createLogger({ sink: (l) => lines.push(l) }), { oldestClaimableAgeMs: 120_000, total: 7 });
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'task backlog', oldestRunnableAgeMs: 120_000 });
    expect(emittedLogLines().get('task backlog')?.fields).toContain('oldestRunnableAgeMs');
  });
});

async function parseMonitoring(text: string): Promise<TerraformConfig> {
  const doc = await parseHcl('monitoring.tf', text);
  const locals: Record<string, unknown> = {};
  for (const block of (doc.locals ?? []) as Record<string, unknown>[]) Object.assign(locals, block);
  return {
    files: ['monitoring.tf'],
    resources: {},
    data: {},
    variables: {},
    locals: locals as TerraformConfig['locals'],
    outputs: {},
    terraform: [],
    providers: {},
  };
}
