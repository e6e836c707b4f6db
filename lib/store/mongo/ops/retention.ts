import type { Collection } from 'mongodb';
import type { Task } from '../../../tasks/model.js';
import { JobTaskStatus as S, finishedStatuses } from '../../../tasks/status.js';
import { transitionFrom } from '../../../tasks/transitions.js';
import type { RetentionOptions, RetentionResult } from '../../types.js';
import { queries } from '../queries.js';
import { stateChange } from '../update.js';

transitionFrom(finishedStatuses, S.Archived);
transitionFrom([S.Archived], S.Deleted);

/** Finished -> Archived -> Deleted -> removed, each by age since the previous step. Status-conditional, so idempotent and safe to run concurrently. */
export async function applyRetention(col: Collection<Task>, opts: RetentionOptions): Promise<RetentionResult> {
  const now = opts.now ?? new Date();
  const ago = (ms: number) => new Date(now.getTime() - ms);
  const archived = await col.updateMany(queries.archiveDue.filter(ago(opts.archiveAfterMs)), stateChange(S.Archived, { now, by: 'retention', set: { archivedAt: now } }));
  const deleted = await col.updateMany(queries.deleteDue.filter(ago(opts.deleteAfterMs)), stateChange(S.Deleted, { now, from: S.Archived, by: 'retention', set: { deletedAt: now } }));
  const purged = await col.deleteMany(queries.purgeDue.filter(ago(opts.purgeAfterMs)));
  return { archived: archived.modifiedCount, deleted: deleted.modifiedCount, purged: purged.deletedCount };
}
