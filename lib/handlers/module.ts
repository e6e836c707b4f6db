import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { z } from 'zod';
import type { TaskHandler } from './handler.js';
import { HandlerModuleError } from './errors.js';

type AnyHandler = TaskHandler<z.ZodType, unknown>;

/** The extension this code runs with: .ts from source (tsx, vitest), .js once built. */
const ownExt = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** lib/handlers/builtin.{ts,js}: the module an isolated run imports for echo, sleep and fail. */
export function builtinModuleUrl(): string {
  return new URL(`./builtin${ownExt}`, import.meta.url).href;
}

/**
 * The application's handler module: Handlers:Module (from the working directory) when set, else the
 * handlers/ folder beside lib/ (handlers/index.ts from source, dist/handlers/index.js once built);
 * undefined when that folder has no index (only the built-ins then).
 */
export function appModuleUrl(setting: string | undefined, cwd = process.cwd()): string | undefined {
  if (setting) {
    const path = isAbsolute(setting) ? setting : resolve(cwd, setting);
    if (!existsSync(path))
      throw new HandlerModuleError(`Handlers:Module "${setting}" does not exist (looked for ${path})`, setting);
    return pathToFileURL(path).href;
  }
  for (const ext of ownExt === '.ts' ? ['.ts', '.js'] : ['.js', '.ts']) {
    const url = new URL(`../../handlers/index${ext}`, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url.href;
  }
  return undefined;
}

function isHandler(v: unknown): v is AnyHandler {
  if (!v || typeof v !== 'object') return false;
  const h = v as Record<string, unknown>;
  const schema = h.schema as { safeParse?: unknown } | undefined;
  return typeof h.type === 'string' && typeof h.run === 'function' && typeof schema?.safeParse === 'function';
}

/**
 * Imports a handler module and returns its handlers: its `handlers` export or its default export, an
 * array or a record of `defineHandler` results. The built-in module exports them one by one.
 */
export async function importHandlerModule(url: string): Promise<AnyHandler[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new HandlerModuleError(
      `handler module ${url} could not be loaded: ${e instanceof Error ? e.message : String(e)}`,
      url,
      { cause: e },
    );
  }
  const exported = mod.handlers ?? mod.default;
  const values =
    exported === undefined
      ? Object.values(mod).filter(isHandler)
      : Array.isArray(exported)
        ? (exported as unknown[])
        : exported && typeof exported === 'object'
          ? Object.values(exported as Record<string, unknown>)
          : [exported];
  const handlers: AnyHandler[] = [];
  for (const [i, v] of values.entries()) {
    if (!isHandler(v))
      throw new HandlerModuleError(
        `handler module ${url}: export item ${i} is not a handler (build each with defineHandler({ type, payload, run }))`,
        url,
      );
    handlers.push(v);
  }
  return handlers;
}
