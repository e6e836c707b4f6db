/**
 * The retention writes (lib/reclaimer/retention.ts): finished tasks archived, archived ones marked Deleted,
 * deleted ones removed (their idempotency keys kept in task_keys first: ./task-keys.ts).
 * Spread into ./writes.ts, so the transition and index-coverage tests check them too.
 */
import { JobTaskStatus as S, finishedStatuses } from '../../tasks/status.js';
import { stateChange } from './write-builders.js';
import { deleteStatement as remove, updateStatement as update } from './write-declaration.js';

const at = new Date(0);

export const retentionWrites = {
  archive: update({
    name: 'archive',
    from: finishedStatuses,
    to: [S.Archived],
    index: 'status_updated',
    sample: [at],
    filter: (cutoff: Date) => ({ status: { $in: [...finishedStatuses] }, updatedAt: { $lt: cutoff } }),
    update: (now: Date) => stateChange(S.Archived, { now, by: 'retention', set: { archivedAt: now } }),
  }),
  delete: update({
    name: 'delete',
    from: [S.Archived],
    to: [S.Deleted],
    index: 'status_updated',
    sample: [at],
    filter: (cutoff: Date) => ({ status: S.Archived, updatedAt: { $lt: cutoff } }),
    update: (now: Date) => stateChange(S.Deleted, { now, from: S.Archived, by: 'retention', set: { deletedAt: now } }),
  }),
  purge: remove({
    name: 'purge',
    from: [S.Deleted],
    to: [],
    index: '_id',
    sample: [['a'], at],
    /** The ids read by queries.purgeDue, whose keys are already kept in task_keys; still Deleted and old. */
    filter: (ids: readonly string[], cutoff: Date) => ({
      _id: { $in: [...ids] },
      status: S.Deleted,
      updatedAt: { $lt: cutoff },
    }),
  }),
} as const;
