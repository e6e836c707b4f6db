import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../config/duration.js';

/** Azure Functions' default when host.json says nothing (Flex Consumption: 30 minutes). */
const AZURE_DEFAULT_TIMEOUT_MS = 30 * 60_000;

/**
 * The function timeout the Functions host enforces, read from host.json in the app root (it is
 * deployed with the code). Processor invocations take their deadline from it.
 */
export function azureFunctionTimeoutMs(appRoot = process.cwd()): number {
  try {
    const host = JSON.parse(readFileSync(join(appRoot, 'host.json'), 'utf8')) as { functionTimeout?: unknown };
    if (typeof host.functionTimeout === 'string') {
      if (host.functionTimeout === '-1') return AZURE_DEFAULT_TIMEOUT_MS;
      const ms = parseDuration(host.functionTimeout);
      if (ms) return ms;
    }
  } catch {
    // No host.json (tests, other hosts): the default applies.
  }
  return AZURE_DEFAULT_TIMEOUT_MS;
}

/** The deadline of an invocation that started at `startedAt` under `timeoutMs`, keeping a margin for the last writes. */
export function invocationDeadline(startedAt: number, timeoutMs: number): number {
  const margin = Math.min(30_000, Math.max(1_000, timeoutMs * 0.1));
  return startedAt + timeoutMs - margin;
}
