import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { sections } from './sections/index.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { redactConnectionString, redactSecretValue } from './redact.js';
import { errorMessage } from '../errors/message.js';

type Sections = typeof sections;
export type AppConfig = { [K in keyof Sections]: z.output<Sections[K]['schema']> };
export type SectionName = keyof Sections;

export interface LoadConfigOptions {
  /** Environment variables (default: process.env). Keys in `Section__Key` form are read. */
  env?: Record<string, string | undefined>;
  /** Optional JSON settings file ({ "Worker": { "BatchSize": 10 }, ... }). Also from env TASKMESH_SETTINGS_FILE. */
  file?: string;
  /** Values that win over everything (tests, embedding code). */
  overrides?: { [K in SectionName]?: Record<string, unknown> };
}

type Raw = Record<string, Record<string, unknown>>;
type Origin = Record<string, 'file' | 'env'>;

/**
 * Loads the configuration: defaults, then the settings file, then environment variables
 * (`Section__Key`, case-insensitive on both parts, as Azure app settings and Function Compute env vars
 * carry them), then overrides. Throws one ConfigError listing every bad key.
 */
export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  const env = options.env ?? process.env;
  const raw: Raw = {};
  const origin: Origin = {};
  const problems: ConfigProblem[] = [];

  const file = options.file ?? env.TASKMESH_SETTINGS_FILE;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      problems.push({
        key: '(settings file)',
        envVar: 'TASKMESH_SETTINGS_FILE',
        given: file,
        expected: `a readable JSON file (${errorMessage(e).split('\n')[0]})`,
        source: 'file',
      });
    }
    if (parsed !== undefined) {
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        problems.push({
          key: '(settings file)',
          envVar: 'TASKMESH_SETTINGS_FILE',
          given: file,
          expected: 'a JSON object of sections',
          source: 'file',
        });
      } else {
        for (const [sectionName, values] of Object.entries(parsed as Record<string, unknown>)) {
          const section = findSection(sectionName);
          if (!section || !values || typeof values !== 'object') continue; // other apps' sections (Logging, ...) are not ours
          for (const [k, v] of Object.entries(values as Record<string, unknown>)) {
            const key = findKey(section, k);
            if (!key || v === null || (typeof v === 'string' && v.trim() === '')) continue;
            (raw[section] ??= {})[key] = v;
            origin[`${section}:${key}`] = 'file';
          }
        }
      }
    }
  }

  for (const [name, value] of Object.entries(env)) {
    // An empty app setting means "not set" (templates list every key; some have no value on a platform).
    if (value === undefined || value.trim() === '') continue;
    const m = /^([A-Za-z0-9]+)__([A-Za-z0-9]+)$/.exec(name);
    if (!m) continue;
    const section = findSection(m[1]!);
    if (!section) continue;
    const key = findKey(section, m[2]!);
    if (!key) continue;
    (raw[section] ??= {})[key] = value;
    origin[`${section}:${key}`] = 'env';
  }
  // The conventional variable wins: tests and the local runtime point everything at one server with it.
  if (env.MONGODB_URI) {
    (raw.MongoDB ??= {}).ConnectionString = env.MONGODB_URI;
    origin['MongoDB:ConnectionString'] = 'env';
  }
  for (const [sectionName, values] of Object.entries(options.overrides ?? {})) {
    for (const [k, v] of Object.entries(values ?? {})) (raw[sectionName] ??= {})[k] = v;
  }

  const out: Record<string, unknown> = {};
  for (const [name, section] of Object.entries(sections)) {
    const result = section.schema.safeParse(raw[name] ?? {});
    if (result.success) {
      out[name] = result.data;
      continue;
    }
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? '');
      const given = (raw[name] ?? {})[key];
      const secret = section.secrets.includes(key);
      problems.push({
        key: `${name}:${key}`,
        envVar: `${name}__${key}`,
        // A connection string pasted into the wrong setting is still masked.
        given:
          given === undefined
            ? '(nothing)'
            : secret
              ? redactSecretValue(given)
              : redactConnectionString(JSON.stringify(given) ?? String(given)),
        expected: describeExpected(issue),
        source: origin[`${name}:${key}`] ?? 'default',
      });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as AppConfig;
}

function describeExpected(issue: z.core.$ZodIssue): string {
  // zod's own messages never echo the value (so no secret can leak through them).
  return issue.message.replace(/^Invalid input: expected /, '').replace(/, received .*$/, '');
}

function findSection(name: string): SectionName | undefined {
  const lower = name.toLowerCase();
  return (Object.keys(sections) as SectionName[]).find((s) => s.toLowerCase() === lower);
}

function findKey(section: SectionName, key: string): string | undefined {
  const lower = key.toLowerCase();
  return Object.keys(sections[section].schema.shape).find((k) => k.toLowerCase() === lower);
}

/** Every setting the code reads, as `Section__Key` names (for docs and the infrastructure drift checks). */
export function settingNames(): string[] {
  return Object.entries(sections).flatMap(([name, s]) => Object.keys(s.schema.shape).map((k) => `${name}__${k}`));
}
