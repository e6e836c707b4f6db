import type { Collection, Filter } from 'mongodb';
import type { Task } from '../../../tasks/model.js';
import type { ListTasksFilter, ListTasksPage } from '../../types.js';
import { queries } from '../queries.js';

interface Cursor { createdAt: Date; id: string }

export function encodeCursor(t: Pick<Task, 'createdAt' | '_id'>): string {
  return Buffer.from(JSON.stringify([t.createdAt.getTime(), t._id])).toString('base64url');
}

export function decodeCursor(cursor: string): Cursor | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string') return { createdAt: new Date(v[0]), id: v[1] };
  } catch {
    // fall through
  }
  return undefined;
}

/**
 * Newest first, keyset paging. The most selective filter picks the query (and so the index); the
 * other filters narrow the rows that index returns.
 */
export async function list(col: Collection<Task>, f: ListTasksFilter, page: { limit?: number; cursor?: string | null } = {}): Promise<ListTasksPage> {
  const limit = Math.min(Math.max(page.limit ?? 50, 1), 500);
  const after = page.cursor ? decodeCursor(page.cursor) : undefined;
  let filter: Filter<Task>;
  if (f.workerId) filter = queries.listByWorker.filter(f.workerId, after, f.createdFrom, f.createdTo);
  else if (f.type) filter = queries.listByType.filter(f.type, after, f.createdFrom, f.createdTo);
  else if (f.status?.length) filter = queries.listByStatus.filter(f.status, after, f.createdFrom, f.createdTo);
  else filter = queries.listAll.filter(after, f.createdFrom, f.createdTo);
  const residual: Filter<Task> = {
    ...(f.workerId && f.type ? { type: f.type } : {}),
    ...((f.workerId || f.type) && f.status?.length ? { status: { $in: [...f.status] } } : {}),
  };
  const rows = await col.find({ ...filter, ...residual }).sort({ createdAt: -1, _id: -1 }).limit(limit + 1).toArray();
  const tasks = rows.slice(0, limit);
  return { tasks, nextCursor: rows.length > limit ? encodeCursor(tasks[tasks.length - 1]!) : null };
}
