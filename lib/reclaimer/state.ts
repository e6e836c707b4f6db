import type { Collection, Db } from 'mongodb';
import type { ReclaimerSummary } from './summary.js';

export const SERVICE_STATE_COLLECTION = 'service_state';
const RECLAIMER_DOC_ID = 'reclaimer';

/** The reclaimer's document in `service_state` (read by _id only: no index needed). */
export interface ReclaimerState {
  _id: typeof RECLAIMER_DOC_ID;
  lastRun: ReclaimerSummary;
  lastSuccessAt?: Date;
  lastFailureAt?: Date;
  runs: number;
}

function collection(db: Db): Collection<ReclaimerState> {
  return db.collection<ReclaimerState>(SERVICE_STATE_COLLECTION);
}

/** Records a pass. Concurrent reclaimers each write theirs; the latest stands, `runs` counts them all. */
export async function recordReclaimerRun(db: Db, summary: ReclaimerSummary): Promise<void> {
  await collection(db).updateOne(
    { _id: RECLAIMER_DOC_ID },
    {
      $set: {
        lastRun: summary,
        ...(summary.ok ? { lastSuccessAt: summary.finishedAt } : { lastFailureAt: summary.finishedAt }),
      },
      $inc: { runs: 1 },
    },
    { upsert: true },
  );
}

/** What the admin health endpoint shows as "the reclaimer's last run" (null: it never ran). */
export function getReclaimerState(db: Db): Promise<ReclaimerState | null> {
  return collection(db).findOne({ _id: RECLAIMER_DOC_ID });
}
