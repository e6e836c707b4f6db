/**
 * What the alert rules and dashboards of infra/ read, and what the code emits, so the tests can bind
 * one to the other:
 *
 * - metrics: the names in lib/telemetry/metrics.ts `metricNames`, and the attribute keys lib/telemetry
 *   and lib/store/instrumentation.ts write (`'task.type'`, `'queue.name'`, ...), as they reach Application Insights (customMetrics.name,
 *   customDimensions);
 * - log lines: every `logger.<level>('<msg>', fields)` call in lib/, with the field paths of its
 *   fields argument as the TypeScript checker types it (spreads and Records of literal keys
 *   included), as they reach Simple Log Service (the JSON in the `message` field).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { metricNames } from '../../../lib/telemetry/metrics.js';
import { firstObject, objectEntries, parseBicep } from './bicep.js';
import { repoPath } from './drift.js';
import type { Json, TerraformConfig } from './hcl.js';

/** Fields every line has (lib/log/logger.ts). */
export const baseLogFields = ['time', 'level', 'msg', 'traceId', 'spanId'];

/**
 * Fields Function Compute itself writes to the logstore (from Alibaba Cloud's documentation of
 * function logs and request-level metrics; checked by reading, not by a deployment).
 */
export const functionComputeLogFields = [
  'message',
  'functionName',
  'qualifier',
  'operation',
  'hasFunctionError',
  'durationMs',
];

/** Azure platform metrics the templates alert on (Azure Monitor's supported-metrics list). */
export const azurePlatformMetrics: Record<string, string[]> = {
  'Microsoft.ServiceBus/namespaces': ['DeadletteredMessages'],
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : f.endsWith('.ts') && !f.endsWith('.d.ts') ? [p] : [];
  });
}

export const emittedMetricNames = (): string[] => Object.values(metricNames);

/**
 * Attribute keys written on metrics: string-literal object keys with a dot, in lib/telemetry and in the
 * store's metrics adapter (lib/store/instrumentation.ts).
 */
export function emittedMetricAttributes(): Set<string> {
  const out = new Set<string>();
  for (const f of [...tsFiles(repoPath('lib', 'telemetry')), repoPath('lib', 'store', 'instrumentation.ts')]) {
    const sf = ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (n: ts.Node) => {
      if (ts.isPropertyAssignment(n) && ts.isStringLiteral(n.name) && /^[a-z]+(\.[a-z_]+)+$/.test(n.name.text))
        out.add(n.name.text);
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out;
}

export interface EmittedLogLine {
  msg: string;
  /** Field paths (`outcomes.timed-out`), the logger's own fields included. */
  fields: Set<string>;
  files: Set<string>;
}

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

function isPlainObject(checker: ts.TypeChecker, t: ts.Type): boolean {
  if (!(t.flags & ts.TypeFlags.Object)) return false;
  if (checker.isArrayType(t) || checker.isTupleType(t)) return false;
  if (t.getCallSignatures().length > 0) return false;
  const name = t.getSymbol()?.getName();
  return name !== 'Date' && name !== 'Error' && name !== 'Map' && name !== 'Set';
}

function fieldPaths(checker: ts.TypeChecker, t: ts.Type, prefix: string, out: Set<string>, depth: number): void {
  for (const p of checker.getPropertiesOfType(t)) {
    const path = prefix ? `${prefix}.${p.getName()}` : p.getName();
    out.add(path);
    const pt = checker.getNonNullableType(checker.getTypeOfSymbol(p));
    if (depth < 3 && isPlainObject(checker, pt)) fieldPaths(checker, pt, path, out, depth + 1);
  }
}

let logLines: Map<string, EmittedLogLine> | undefined;

/** Every log message lib/ writes through its Logger, with the fields it writes. */
export function emittedLogLines(): Map<string, EmittedLogLine> {
  if (logLines) return logLines;
  const files = tsFiles(repoPath('lib'));
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const checker = program.getTypeChecker();
  const loggerFile = repoPath('lib', 'log', 'logger.ts');
  const out = new Map<string, EmittedLogLine>();
  for (const sf of program.getSourceFiles()) {
    if (!sf.fileName.startsWith(repoPath('lib'))) continue;
    const visit = (n: ts.Node) => {
      if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && LEVELS.has(n.expression.name.text)) {
        const decl = checker.getSymbolAtLocation(n.expression.name)?.declarations?.[0];
        const msgArg = n.arguments[0];
        if (
          decl &&
          decl.getSourceFile().fileName === loggerFile &&
          msgArg &&
          (ts.isStringLiteral(msgArg) || ts.isNoSubstitutionTemplateLiteral(msgArg))
        ) {
          const line = out.get(msgArg.text) ?? {
            msg: msgArg.text,
            fields: new Set(baseLogFields),
            files: new Set<string>(),
          };
          const fieldsArg = n.arguments[1];
          if (fieldsArg) fieldPaths(checker, checker.getTypeAtLocation(fieldsArg), '', line.fields, 0);
          line.files.add(sf.fileName.slice(repoPath().length + 1));
          out.set(line.msg, line);
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  logLines = out;
  return out;
}

// -------------------------------------------------------------------------------------------------
// What the templates read
// -------------------------------------------------------------------------------------------------

export interface KqlReadings {
  /** Query name (`queries.failureRate`) -> metric names it reads. */
  metrics: Map<string, string[]>;
  /** Query name -> customDimensions keys it reads. */
  dimensions: Map<string, string[]>;
}

/** KQL of infra/azure/modules/alerts.bicep (vars `queries` and `charts`): the customMetrics names and dimensions. */
export function azureQueries(
  bicepSource = readFileSync(repoPath('infra', 'azure', 'modules', 'alerts.bicep'), 'utf8'),
): KqlReadings {
  const file = parseBicep(bicepSource);
  const readings: KqlReadings = { metrics: new Map(), dimensions: new Map() };
  for (const v of ['queries', 'charts']) {
    const expr = file.vars.get(v);
    if (!expr) throw new Error(`alerts.bicep: no var ${v}`);
    for (const [key, query] of objectEntries(expr)) {
      readings.metrics.set(
        `${v}.${key}`,
        [...query.matchAll(/"(taskmesh\.[\w.]+)"/g)].map((m) => m[1]!),
      );
      readings.dimensions.set(
        `${v}.${key}`,
        [...query.matchAll(/customDimensions\["([^"]+)"\]/g)].map((m) => m[1]!),
      );
    }
  }
  return readings;
}

/** The platform metric alerts of alerts.bicep: resource namespace and metric name. */
export function azurePlatformMetricReadings(
  bicepSource = readFileSync(repoPath('infra', 'azure', 'modules', 'alerts.bicep'), 'utf8'),
): { namespace: string; metric: string }[] {
  const file = parseBicep(bicepSource);
  const out: { namespace: string; metric: string }[] = [];
  for (const r of file.resources.filter((x) => x.type === 'Microsoft.Insights/metricAlerts')) {
    const body = firstObject(r.body) ?? '';
    for (const m of body.matchAll(/metricNamespace:\s*'([^']+)'\s*metricName:\s*'([^']+)'/g))
      out.push({ namespace: m[1]!, metric: m[2]! });
  }
  for (const m of bicepSource.matchAll(/metric:\s*'([\w./]+)--(\w+)'/g)) out.push({ namespace: m[1]!, metric: m[2]! });
  return out;
}

export interface SlsQuery {
  where: string;
  query: string;
  /** The code's log message the query filters on (`json_extract_scalar(message, '$.msg') = '...'`). */
  msg: string | undefined;
  /** JSON paths read from the code's line (`outcomes.timed-out`). */
  jsonFields: string[];
  /** Logstore fields the query searches or selects by name (Function Compute's). */
  platformFields: string[];
}

function strings(value: Json, at: string, out: { at: string; text: string }[]): void {
  if (typeof value === 'string') out.push({ at, text: value });
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${at}[${i}]`, out));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) strings(v, at ? `${at}.${k}` : k, out);
}

const jsonPath = (p: string) => p.replace(/\[\\?"([^"\\]+)\\?"\]/g, '.$1').replace(/^\./, '');

/** Every SLS query (a string with `| SELECT`) in the Terraform locals, with what it reads. */
export function slsQueries(cfg: TerraformConfig): SlsQuery[] {
  const found: { at: string; text: string }[] = [];
  strings(cfg.locals as Json, 'local', found);
  return found
    .filter((s) => /\|\s*SELECT\b/i.test(s.text))
    .map(({ at, text }) => {
      const msgs = [...text.matchAll(/json_extract_scalar\(message, '\$\.msg'\) = '([^']+)'/g)].map((m) => m[1]!);
      if (new Set(msgs).size > 1)
        throw new Error(`${at}: one query reads one log message, this one ${msgs.join(', ')}`);
      const jsonFields = [...text.matchAll(/json_extract_scalar\(message, '\$((?:\.[\w-]+|\[\\?"[^"\\]+\\?"\])+)'\)/g)]
        .map((m) => jsonPath(m[1]!))
        .filter((f) => f !== 'msg');
      const withoutJson = text.replace(/json_extract_scalar\([^)]*\)/g, '').replace(/'[^']*'/g, "''");
      const platformFields = functionComputeLogFields.filter((f) => new RegExp(`\\b${f}\\b`).test(withoutJson));
      return { where: at, query: text, msg: msgs[0], jsonFields: [...new Set(jsonFields)], platformFields };
    });
}

/** Problems binding the SLS queries to the code's log lines and Function Compute's fields. */
export function slsBindingProblems(
  queries: readonly SlsQuery[],
  lines: Map<string, EmittedLogLine>,
  indexed: readonly string[],
): string[] {
  const problems: string[] = [];
  for (const q of queries) {
    if (q.msg !== undefined) {
      const line = lines.get(q.msg);
      if (!line) {
        problems.push(`${q.where}: reads log message '${q.msg}', which no logger call in lib/ writes`);
        continue;
      }
      for (const f of q.jsonFields)
        if (!line.fields.has(f))
          problems.push(
            `${q.where}: reads ${f} of '${q.msg}', which ${[...line.files].join(', ')} does not write (fields: ${[...line.fields].sort().join(', ')})`,
          );
    } else if (q.jsonFields.length > 0) {
      problems.push(
        `${q.where}: reads ${q.jsonFields.join(', ')} of the code's lines without filtering on one message`,
      );
    }
    for (const f of q.platformFields)
      if (!indexed.includes(f)) problems.push(`${q.where}: reads ${f}, which the logstore index does not declare`);
  }
  return problems;
}
