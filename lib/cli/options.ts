import { z } from 'zod';
import type { CommandContext } from './command.js';
import { UsageError } from './errors.js';

/** Typed access to option values, validated with zod; a bad value is a usage error (exit 2). */

export function stringOpt(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.options[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError(`--${name} takes a value`);
  return v;
}

export function stringsOpt(ctx: CommandContext, name: string): string[] {
  const v = ctx.options[name];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list
    .flatMap((x) => (typeof x === 'string' ? x.split(',') : []))
    .map((x) => x.trim())
    .filter(Boolean);
}

export function intOpt(
  ctx: CommandContext,
  name: string,
  range: { min?: number; max?: number } = {},
): number | undefined {
  const v = stringOpt(ctx, name);
  if (v === undefined) return undefined;
  let schema = z.coerce.number().int();
  if (range.min !== undefined) schema = schema.min(range.min);
  if (range.max !== undefined) schema = schema.max(range.max);
  const r = schema.safeParse(v.trim() === '' ? Number.NaN : v);
  if (!r.success)
    throw new UsageError(
      `--${name} must be a whole number${range.min !== undefined ? ` >= ${range.min}` : ''}${range.max !== undefined ? ` <= ${range.max}` : ''}, not "${v}"`,
    );
  return r.data;
}

export function boolOpt(ctx: CommandContext, name: string): boolean {
  return ctx.options[name] === true;
}

export function jsonOpt(ctx: CommandContext, name: string): unknown {
  const v = stringOpt(ctx, name);
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    throw new UsageError(`--${name} must be JSON, e.g. --${name} '{"to":"a@b.c"}'`);
  }
}
