/**
 * `func start` as shipped: what the Functions host resolves when it starts the app. Each registered
 * function's bindings name app settings as `%Setting%` and connections by name; the host refuses to
 * start a function whose setting is missing or empty or whose connection resolves to nothing. These
 * checks read the registrations as the host receives them (test/fixtures/azure-registrations.ts) and
 * the settings file (local.settings.example.json, whose Values Core Tools sets as app settings).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { azureFunctions, isFunctionConfigured } from '../../lib/app/catalog.js';
import { parseNcrontab } from '../../lib/app/ncrontab.js';

export interface Registration {
  name: string;
  bindings: Record<string, Record<string, unknown>>;
}

export type Settings = Record<string, string>;

export function readLocalSettings(file = 'local.settings.example.json'): Settings {
  const parsed = JSON.parse(readFileSync(resolve(file), 'utf8')) as { Values?: Settings };
  return parsed.Values ?? {};
}

/** App settings are case-insensitive in the Functions host (.NET configuration keys). */
function setting(values: Settings, key: string): string {
  const k = Object.keys(values).find((x) => x.toLowerCase() === key.toLowerCase());
  return k === undefined ? '' : (values[k] ?? '').trim();
}

/** A connection name resolves to a connection string, or to the identity-based form's service address. */
function connectionResolves(values: Settings, name: string): boolean {
  return ['', '__fullyQualifiedNamespace', '__serviceUri', '__queueServiceUri', '__accountName'].some(
    (suffix) => setting(values, `${name}${suffix}`) !== '',
  );
}

/** What would stop the host from starting each registered function under these settings. */
export function registrationProblems(registrations: readonly Registration[], values: Settings): string[] {
  const problems: string[] = [];
  if (setting(values, 'FUNCTIONS_WORKER_RUNTIME') !== 'node') problems.push('FUNCTIONS_WORKER_RUNTIME is not "node"');
  for (const r of registrations) {
    for (const b of Object.values(r.bindings)) {
      for (const [prop, v] of Object.entries(b)) {
        if (typeof v !== 'string') continue;
        for (const [, key] of v.matchAll(/%([^%]+)%/g))
          if (setting(values, key!) === '') problems.push(`${r.name}: ${prop} reads %${key}%, which is not set`);
        if (prop === 'connection' && !connectionResolves(values, v))
          problems.push(
            `${r.name}: connection "${v}" resolves to nothing (set ${v}, or ${v}__fullyQualifiedNamespace)`,
          );
      }
      if (b.type === 'timerTrigger') {
        if (!connectionResolves(values, 'AzureWebJobsStorage'))
          problems.push(`${r.name}: timers need AzureWebJobsStorage (schedule leases)`);
        const schedule = String(b.schedule ?? '');
        if (!schedule.includes('%')) {
          try {
            parseNcrontab(schedule);
          } catch (e) {
            problems.push(`${r.name}: schedule "${schedule}": ${e instanceof Error ? e.message : String(e)}`);
          }
        }
      }
    }
  }
  return problems;
}

/** The catalog's functions against what the app registered under these settings. */
export function catalogProblems(registrations: readonly Registration[], values: Settings): string[] {
  const registered = new Set(registrations.map((r) => r.name));
  const problems: string[] = [];
  for (const def of azureFunctions) {
    const expected = isFunctionConfigured(def, values);
    if (expected && !registered.has(def.name))
      problems.push(`${def.name} is configured but the app did not register it`);
    if (!expected && registered.has(def.name))
      problems.push(`${def.name} is registered although ${def.queueSetting ?? 'its setting'} is not set`);
  }
  for (const name of registered)
    if (!azureFunctions.some((f) => f.name === name))
      problems.push(`${name} is registered but not in lib/app/catalog.ts`);
  return problems;
}

/** Loads functions/azure in a fresh process with exactly these app settings (plus PATH), as the worker does. */
export function appRegistrations(values: Settings): Promise<Registration[]> {
  const base: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'SystemRoot']) if (process.env[k]) base[k] = process.env[k]!;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/azure-registrations.ts'], {
      cwd: process.cwd(),
      env: { ...base, ...values },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1);
      if (code !== 0 || !line) reject(new Error(`loading functions/azure failed (${code}): ${err.slice(-2000)}`));
      else resolvePromise(JSON.parse(line) as Registration[]);
    });
  });
}
