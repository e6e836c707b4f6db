import { z } from 'zod';

/**
 * Durations in the original .NET design's TimeSpan form: "hh:mm:ss", "d.hh:mm:ss", with optional
 * ".fff" fractions; also plain milliseconds (a number, or a string of digits) and
 * "500ms"/"30s"/"5m"/"2h"/"7d". Parsed to milliseconds.
 */
const timeSpan = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/;
const unitForm = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : undefined;
  const s = input.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const t = timeSpan.exec(s);
  if (t) {
    const [, d, h, m, sec, frac] = t;
    if (Number(m) > 59 || Number(sec) > 59 || Number(h) > 23) return undefined;
    const fracMs = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
    return ((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(m)) * 60_000 + Number(sec) * 1000 + fracMs;
  }
  const u = unitForm.exec(s);
  if (u) return Math.round(Number(u[1]) * unitMs[u[2]!]!);
  return undefined;
}

/** Formats milliseconds back into that TimeSpan form, for messages and docs. */
export function formatDuration(ms: number): string {
  const totalSec = Math.floor(ms / 1000);
  const d = Math.floor(totalSec / 86_400);
  const h = Math.floor((totalSec % 86_400) / 3600);
  const m = Math.floor((totalSec % 3600) / 60);
  const s = totalSec % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d > 0 ? `${d}.` : ''}${pad(h)}:${pad(m)}:${pad(s)}${ms % 1000 ? `.${String(ms % 1000).padStart(3, '0')}` : ''}`;
}

/** zod schema for a duration setting; yields milliseconds. */
export const duration = (opts: { min?: number; max?: number } = {}) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'a duration as "hh:mm:ss" (or "d.hh:mm:ss"), milliseconds, or 30s/5m/2h/7d',
      });
      return z.NEVER;
    }
    if (opts.min !== undefined && ms < opts.min) {
      ctx.addIssue({ code: 'custom', message: `a duration of at least ${formatDuration(opts.min)}` });
      return z.NEVER;
    }
    if (opts.max !== undefined && ms > opts.max) {
      ctx.addIssue({ code: 'custom', message: `a duration of at most ${formatDuration(opts.max)}` });
      return z.NEVER;
    }
    return ms;
  });
