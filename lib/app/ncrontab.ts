/**
 * NCRONTAB with seconds ("s m h dom mon dow"), as Azure Functions timers and Function Compute cron
 * triggers take it. The local runtime uses it to fire timers on the same schedules as the cloud.
 * Supports `*`, lists, ranges, steps (`*\/5`, `1-10/2`) and day/month names.
 */
export class NcrontabError extends Error {
  constructor(expression: string, why: string) {
    super(`invalid NCRONTAB expression "${expression}": ${why}`);
    this.name = 'NcrontabError';
  }
}

interface Field {
  min: number;
  max: number;
  names?: string[];
}
const FIELDS: Field[] = [
  { min: 0, max: 59 },
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

export interface Schedule {
  expression: string;
  next(after: Date): Date;
}

function parseField(expr: string, text: string, f: Field): Set<number> {
  const out = new Set<number>();
  const value = (s: string) => {
    const named = f.names?.indexOf(s.toLowerCase()) ?? -1;
    const n = named >= 0 ? named + f.min : Number(s);
    // Day of week 7 is Sunday too.
    const v = f.max === 6 && n === 7 ? 0 : n;
    if (!Number.isInteger(v) || v < f.min || v > f.max)
      throw new NcrontabError(expr, `"${s}" is outside ${f.min}-${f.max}`);
    return v;
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new NcrontabError(expr, `bad step in "${part}"`);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [f.min, f.max];
    else if (range!.includes('-')) {
      const [a, b] = range!.split('-');
      [lo, hi] = [value(a!), value(b!)];
    } else {
      lo = value(range!);
      hi = stepText === undefined ? lo : f.max;
    }
    if (lo > hi) throw new NcrontabError(expr, `empty range "${part}"`);
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

export function parseNcrontab(expression: string): Schedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 6)
    throw new NcrontabError(expression, `expected 6 fields (s m h dom mon dow), got ${parts.length}`);
  const [sec, min, hour, dom, mon, dow] = parts.map((p, i) => parseField(expression, p, FIELDS[i]!));
  const domAny = parts[3] === '*';
  const dowAny = parts[5] === '*';
  const dayMatches = (d: Date) => {
    const a = dom!.has(d.getUTCDate());
    const b = dow!.has(d.getUTCDay());
    // Cron semantics: when both day fields are restricted, either may match.
    return domAny && dowAny ? true : domAny ? b : dowAny ? a : a || b;
  };
  return {
    expression,
    next(after: Date): Date {
      const t = new Date(Math.floor(after.getTime() / 1000) * 1000 + 1000);
      const limit = after.getTime() + 4 * 366 * 86_400_000;
      while (t.getTime() < limit) {
        if (!mon!.has(t.getUTCMonth() + 1) || !dayMatches(t)) {
          t.setUTCDate(t.getUTCDate() + 1);
          t.setUTCHours(0, 0, 0, 0);
          continue;
        }
        if (!hour!.has(t.getUTCHours())) {
          t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
          continue;
        }
        if (!min!.has(t.getUTCMinutes())) {
          t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
          continue;
        }
        if (!sec!.has(t.getUTCSeconds())) {
          t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
          continue;
        }
        return new Date(t);
      }
      throw new NcrontabError(expression, 'never fires');
    },
  };
}
