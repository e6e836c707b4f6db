import type { UpdateFilter } from 'mongodb';
import type { Task } from '../../tasks/model.js';

// A document after an update, computed here from the document as read before it. The batch claim uses it
// to skip reading back what it won: its updateMany is pinned to the version of each document it read, so
// when every candidate was modified, each changed from exactly what was read (test/store/post-image.test.ts
// checks the claim's image against the stored document). Only the operators the claim uses are known;
// anything else gives no image, and the caller reads the documents back.

type Fields = Record<string, unknown>;

const isRecord = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `doc` after `update`; `$currentDate` fields get `now` (the caller's estimate of the server's time). */
export function imageAfter(doc: Task, update: UpdateFilter<Task>, now: Date): Task | undefined {
  // Shallow: only top-level fields are replaced (a deep clone would turn a payload's BSON values into plain objects).
  const out: Fields = { ...(doc as unknown as Fields) };
  for (const [op, arg] of Object.entries(update)) {
    if (!isRecord(arg)) return undefined;
    for (const [field, value] of Object.entries(arg)) {
      // Dotted paths would need path walking the claim never asks for.
      if (field.includes('.')) return undefined;
      if (op === '$set') out[field] = structuredClone(value);
      else if (op === '$inc') {
        const before = out[field] ?? 0;
        if (typeof before !== 'number' || typeof value !== 'number') return undefined;
        out[field] = before + value;
      } else if (op === '$currentDate') {
        if (value !== true) return undefined;
        out[field] = new Date(now);
      } else if (op === '$push') {
        const pushed = afterPush(out[field], value);
        if (!pushed) return undefined;
        out[field] = pushed;
      } else return undefined;
    }
  }
  return out as unknown as Task;
}

/** `$push` with `$each` and an optional negative `$slice` (keep the last n), as the state changes write it. */
function afterPush(before: unknown, spec: unknown): unknown[] | undefined {
  if (before !== undefined && !Array.isArray(before)) return undefined;
  if (!isRecord(spec) || !Array.isArray(spec.$each)) return undefined;
  const keys = Object.keys(spec);
  if (keys.some((k) => k !== '$each' && k !== '$slice')) return undefined;
  const all = [...(before ?? []), ...structuredClone(spec.$each)];
  if (spec.$slice === undefined) return all;
  if (typeof spec.$slice !== 'number' || spec.$slice >= 0) return undefined;
  return all.slice(spec.$slice);
}
