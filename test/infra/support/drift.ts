/**
 * What the templates must agree with, read from the code at test time (so a section, key or
 * function added to the code is expected of the templates at once), and the generic comparisons.
 * Every check returns a list of problems (empty: no drift), so the tests can also show that a check
 * reports a deliberate drift.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, sections, settingNames } from '../../../lib/config/index.js';
import { queueProviders } from '../../../lib/config/sections/queue-providers.js';
import { aliyunFunctions, azureFunctions, type FunctionDefinition } from '../../../lib/app/catalog.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export function repoPath(...parts: string[]): string {
  return [repoRoot.replace(/\/$/, ''), ...parts].join('/');
}

export function exists(...parts: string[]): boolean {
  return existsSync(repoPath(...parts));
}

export interface Expectations {
  /** Every setting the code reads, `Section__Key` (`settingNames()`). */
  settings: readonly string[];
  /** The secret ones (sections' `secrets`). */
  secrets: ReadonlySet<string>;
  azureFunctions: readonly FunctionDefinition[];
  aliyunFunctions: readonly FunctionDefinition[];
  /**
   * The settings of each queue provider (its section's keys, `Section__Key`), by provider name
   * (lib/config/sections/queue-providers.ts). A template sets those of the providers it deploys only.
   */
  providerSettings: Readonly<Record<string, readonly string[]>>;
}

export function currentExpectations(): Expectations {
  const secrets = new Set(Object.entries(sections).flatMap(([name, s]) => s.secrets.map((k) => `${name}__${k}`)));
  const providerSettings = Object.fromEntries(
    Object.entries(queueProviders).map(([provider, { section }]) => [
      provider,
      Object.keys(section.schema.shape).map((k) => `${section.name}__${k}`),
    ]),
  );
  return { settings: settingNames(), secrets, azureFunctions, aliyunFunctions, providerSettings };
}

/**
 * The settings a template that deploys these queue providers must set: every setting the code reads,
 * except those of the providers it does not deploy.
 */
export function settingsFor(exp: Expectations, deployed: readonly string[]): string[] {
  const elsewhere = new Set(
    Object.entries(exp.providerSettings)
      .filter(([p]) => !deployed.includes(p))
      .flatMap(([, names]) => names.map(lower)),
  );
  return exp.settings.filter((s) => !elsewhere.has(lower(s)));
}

/**
 * What is wrong with a template's provider declaration: a provider that is not registered, an
 * Ingest__Provider (`selected`) it does not declare, settings of a provider it does not deploy.
 */
export function providerProblems(
  where: string,
  exp: Expectations,
  deployed: readonly string[],
  selected: string | undefined,
  present: Iterable<string>,
): string[] {
  const problems = deployed
    .filter((p) => !(p in exp.providerSettings))
    .map((p) => `${where}: declares queue provider ${p}, which is not registered`);
  if (selected !== undefined && !deployed.includes(selected)) {
    problems.push(
      `${where}: Ingest__Provider selects ${selected}, which the template does not declare among its queue providers (${deployed.join(', ') || 'none'})`,
    );
  }
  const owner = new Map(
    Object.entries(exp.providerSettings).flatMap(([p, names]) => names.map((n) => [lower(n), p] as const)),
  );
  for (const name of present) {
    const p = owner.get(lower(name));
    if (p !== undefined && !deployed.includes(p))
      problems.push(`${where}: sets ${name}, a setting of queue provider ${p}, which the template does not deploy`);
  }
  return problems;
}

const lower = (s: string) => s.toLowerCase();

/** Expected names absent from `present` (compared case-insensitively, as the loader reads them). */
export function missingSettings(expected: readonly string[], present: Iterable<string>): string[] {
  const have = new Set([...present].map(lower));
  return expected.filter((s) => !have.has(lower(s)));
}

/**
 * Names in `present` that look like a setting of one of the code's sections (`Section__Key`) but that
 * the code does not read: typos, removed keys. `allow` matches accepted extras (e.g. the identity
 * properties of a Functions connection, `AzureServiceBus__credential`).
 */
export function unknownSettings(
  present: Iterable<string>,
  expected: readonly string[],
  allow: RegExp[] = [],
): string[] {
  const known = new Set(expected.map(lower));
  const sectionNames = new Set(expected.map((s) => lower(s.split('__')[0]!)));
  return [...present].filter((name) => {
    const m = /^([A-Za-z0-9]+)__([A-Za-z0-9]+)$/.exec(name);
    if (!m || !sectionNames.has(lower(m[1]!))) return false;
    return !known.has(lower(name)) && !allow.some((re) => re.test(name));
  });
}

/** Names that occur more than once ignoring case (app settings and env vars are case-insensitive to the loader). */
export function caseDuplicates(names: Iterable<string>): string[] {
  const seen = new Map<string, string>();
  const dups: string[] = [];
  for (const n of names) {
    const k = lower(n);
    if (seen.has(k)) dups.push(`${seen.get(k)} / ${n}`);
    else seen.set(k, n);
  }
  return dups;
}

/** Missing (of the core and of the deployed providers), unknown and duplicated settings, as messages naming where. */
export function settingProblems(
  where: string,
  present: readonly string[],
  exp: Expectations,
  deployed: readonly string[],
  allow: RegExp[] = [],
): string[] {
  return [
    ...missingSettings(settingsFor(exp, deployed), present).map((s) => `${where}: missing setting ${s}`),
    ...unknownSettings(present, exp.settings, allow).map((s) => `${where}: ${s} is not a setting the code reads`),
    ...caseDuplicates(present).map((s) => `${where}: duplicate setting ${s}`),
  ];
}

/** The problems `loadConfig` reports for these environment variables (empty: they load). */
export function loadProblems(env: Record<string, string>): string[] {
  try {
    loadConfig({ env });
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.envVar}: given ${p.given}, expected ${p.expected}`);
    throw e;
  }
}

/** Settings whose loaded value differs from the code's default when these variables are set. */
export function differencesFromDefaults(env: Record<string, string>): string[] {
  const base = loadConfig({ env: {} }) as unknown as Record<string, Record<string, unknown>>;
  const current = loadConfig({ env }) as unknown as Record<string, Record<string, unknown>>;
  const out: string[] = [];
  for (const [section, values] of Object.entries(base)) {
    const keys = new Set([...Object.keys(values), ...Object.keys(current[section] ?? {})]);
    for (const key of keys) {
      if (JSON.stringify(values[key]) !== JSON.stringify(current[section]?.[key])) out.push(`${section}__${key}`);
    }
  }
  return out.sort();
}

/** Timer schedules of a function set: name -> NCRONTAB. */
export function timerSchedules(defs: readonly FunctionDefinition[]): Record<string, string> {
  return Object.fromEntries(defs.filter((d) => d.trigger === 'timer').map((d) => [d.name, d.schedule ?? '(none)']));
}

/** Differences between expected and declared schedules (name -> cron). */
export function scheduleProblems(
  where: string,
  expected: Record<string, string>,
  actual: Record<string, string>,
): string[] {
  const out: string[] = [];
  for (const [name, cron] of Object.entries(expected)) {
    if (!(name in actual)) out.push(`${where}: no timer for ${name} (catalog: "${cron}")`);
    else if (actual[name] !== cron) out.push(`${where}: ${name} runs "${actual[name]}", the catalog says "${cron}"`);
  }
  for (const name of Object.keys(actual))
    if (!(name in expected)) out.push(`${where}: timer for ${name}, which the catalog has no timer for`);
  return out;
}

/**
 * NCRONTAB with seconds ("s m h dom mon dow") to standard 5-field cron ("m h dom mon dow") for a
 * Kubernetes CronJob, which has minute resolution: the seconds field is dropped. Only a single
 * second value can be dropped without changing how often the job runs; a seconds list, range or
 * step (several runs a minute) has no 5-field equivalent.
 */
export function ncrontabToFiveField(expr: string): string {
  const parts = expr.trim().split(/\s+/);
  if (parts.length !== 6) throw new Error(`"${expr}": expected 6 fields (s m h dom mon dow)`);
  if (!/^\d{1,2}$/.test(parts[0]!))
    throw new Error(`"${expr}": the seconds field "${parts[0]}" fires more than once a minute; a CronJob cannot`);
  return parts.slice(1).join(' ');
}
