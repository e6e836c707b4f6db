import { z } from 'zod';

// Settings arrive as strings from environment variables and as JSON values from files; these accept both.

export const integer = (opts: { min?: number; max?: number } = {}) => {
  let n = z.coerce.number({ message: 'a whole number' }).int({ message: 'a whole number' });
  if (opts.min !== undefined) n = n.min(opts.min, { message: `a whole number >= ${opts.min}` });
  if (opts.max !== undefined) n = n.max(opts.max, { message: `a whole number <= ${opts.max}` });
  return z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), n);
};

export const boolean = () =>
  z.preprocess(
    (v) => {
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string') {
        const s = v.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(s)) return true;
        if (['false', '0', 'no', 'off'].includes(s)) return false;
      }
      return v;
    },
    z.boolean({ message: 'true or false' }),
  );

/** Optional text: an empty string counts as not set (what an empty app setting means). */
export const optionalText = () =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), z.string().optional());

/** A comma-separated list (env vars) or a JSON array (settings file); empty means "not set". */
export const nameList = () =>
  z
    .preprocess(
      (v) =>
        typeof v === 'string'
          ? v
              .split(',')
              .map((s) => s.trim())
              .filter((s) => s.length > 0)
          : v,
      z.array(z.string().min(1), { message: 'a comma-separated list of task types' }).optional(),
    )
    .transform((v) => (v && v.length > 0 ? v : undefined));
