import { describe, expect, it } from 'vitest';
import { NcrontabError, parseNcrontab } from '../../lib/app/ncrontab.js';
import { schedules } from '../../lib/app/catalog.js';

const at = (s: string) => new Date(s);

describe('NCRONTAB', () => {
  it.each([
    ['0 */1 * * * *', '2026-01-01T10:00:30Z', '2026-01-01T10:01:00.000Z'],
    ['30 */1 * * * *', '2026-01-01T10:00:30Z', '2026-01-01T10:01:30.000Z'],
    ['*/10 * * * * *', '2026-01-01T10:00:31Z', '2026-01-01T10:00:40.000Z'],
    ['0 0 9 * * mon-fri', '2026-01-03T12:00:00Z', '2026-01-05T09:00:00.000Z'], // Saturday -> Monday
    ['0 30 2 1 * *', '2026-01-15T00:00:00Z', '2026-02-01T02:30:00.000Z'],
    ['0 0 0 29 feb *', '2026-03-01T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['15,45 * * * * *', '2026-01-01T10:00:15Z', '2026-01-01T10:00:45.000Z'],
  ])('%s after %s is %s', (expr, after, next) => {
    expect(parseNcrontab(expr).next(at(after)).toISOString()).toBe(next);
  });

  it.each(['* * * * *', '60 * * * * *', '0 0 25 * * *', 'x * * * * *', '0 5-1 * * * *', '*/0 * * * * *'])(
    'rejects %s',
    (expr) => {
      expect(() => parseNcrontab(expr)).toThrow(NcrontabError);
    },
  );

  it('parses every schedule of the function set', () => {
    for (const s of Object.values(schedules))
      expect(parseNcrontab(s).next(at('2026-01-01T00:00:00Z')).getTime()).toBeGreaterThan(0);
  });
});
