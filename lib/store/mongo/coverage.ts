import type { IndexDeclaration } from './indexes.js';

/**
 * A small planner check. The test server ignores indexes, so a missing one would only show in
 * production; this checks statically that an index serves a query by the ESR rule: the index key
 * starts with the query's equality fields (any order), continues with its sort fields in order
 * (all directions as declared, or all reversed), and contains every range field.
 */
export interface QueryShape {
  /** Point values: must lead the index key. */
  equality: string[];
  /** $in lists: either part of the leading prefix (a sort merge) or, after the sort, index-evaluated bounds. */
  multi: string[];
  range: string[];
  sort: [string, 1 | -1][];
}

const isPlainValue = (v: unknown) => v === null || typeof v !== 'object' || v instanceof Date || Array.isArray(v);

export function shapeOf(filter: Record<string, unknown>, sort: Record<string, 1 | -1> = {}): QueryShape {
  const equality = new Set<string>();
  const multi = new Set<string>();
  const range = new Set<string>();
  const visit = (f: Record<string, unknown>, inOr: boolean) => {
    for (const [k, v] of Object.entries(f)) {
      if (k === '$or' || k === '$and' || k === '$nor') {
        for (const sub of v as Record<string, unknown>[]) visit(sub, true);
        continue;
      }
      const ops = !isPlainValue(v) ? Object.keys(v as object) : [];
      // Fields inside $or are treated as ranges: each branch is an index bound, not a single point.
      if (inOr) range.add(k);
      else if (isPlainValue(v) || ops.every((op) => op === '$eq')) equality.add(k);
      else if (ops.every((op) => op === '$in')) multi.add(k);
      else range.add(k);
    }
  };
  visit(filter, false);
  for (const k of equality) range.delete(k);
  return {
    equality: [...equality],
    multi: [...multi],
    range: [...range],
    sort: Object.entries(sort) as [string, 1 | -1][],
  };
}

export function indexCovers(index: Pick<IndexDeclaration, 'key'>, q: QueryShape): { ok: boolean; why?: string } {
  const keys = Object.entries(index.key) as [string, number][];
  const names = keys.map(([k]) => k);
  // The leading run of equality and $in fields; every point-equality field must be in it.
  let eqCount = 0;
  while (eqCount < names.length && (q.equality.includes(names[eqCount]!) || q.multi.includes(names[eqCount]!)))
    eqCount++;
  const prefix = new Set(names.slice(0, eqCount));
  for (const f of q.equality)
    if (!prefix.has(f))
      return {
        ok: false,
        why: `equality field ${f} is not in the index prefix [${names.slice(0, eqCount).join(', ')}]`,
      };
  const sort = q.sort.filter(([f]) => !prefix.has(f));
  const sortKeys = keys.slice(eqCount, eqCount + sort.length);
  if (sort.length) {
    const same = sort.every(([f, d], i) => sortKeys[i]?.[0] === f && sortKeys[i]?.[1] === d);
    const reversed = sort.every(([f, d], i) => sortKeys[i]?.[0] === f && sortKeys[i]?.[1] === -d);
    if (!same && !reversed)
      return {
        ok: false,
        why: `sort ${JSON.stringify(sort)} does not follow the equality prefix in [${names.join(', ')}]`,
      };
  }
  for (const f of [...q.range, ...q.multi])
    if (!names.includes(f)) return { ok: false, why: `field ${f} is not in the index` };
  return { ok: true };
}
