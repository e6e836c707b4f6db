import { z } from 'zod';
import { defineSection } from '../section.js';
import { duration } from '../duration.js';

const DAY = 86_400_000;
/**
 * How long after a task finishes its idempotency key must still be known at least: a queue may redeliver
 * a message, or a producer resubmit it, for up to 7 days (Storage queue and MNS message retention; Service
 * Bus redelivers within its lock and TTL), and each such delivery must find the key and stay one task.
 */
export const MIN_KEY_MEMORY_MS = 7 * DAY;

export const retentionSection = defineSection({
  name: 'Retention',
  schema: z
    .object({
      ArchiveAfter: duration({ min: 1 }).default(7 * DAY),
      DeleteAfter: duration({ min: 1 }).default(30 * DAY),
      PurgeAfter: duration({ min: 1 }).default(7 * DAY),
      ForgetKeysAfter: duration({ min: 60_000 }).default(30 * DAY),
    })
    .superRefine((r, ctx) => {
      const memory = r.ArchiveAfter + r.DeleteAfter + r.PurgeAfter + r.ForgetKeysAfter;
      if (memory < MIN_KEY_MEMORY_MS)
        ctx.addIssue({
          code: 'custom',
          path: ['ForgetKeysAfter'],
          message: `Retention:ArchiveAfter + DeleteAfter + PurgeAfter + ForgetKeysAfter (now ${memory} ms) of at least ${MIN_KEY_MEMORY_MS} ms (7 days), so a redelivered message still finds its task's key`,
        });
    }),
  secrets: [],
  docs: {
    ArchiveAfter: 'Finished tasks (Succeeded, Failed, Error, Cancelled, Timeout) older than this become Archived.',
    DeleteAfter: 'Archived tasks older than this (since archiving) become Deleted.',
    PurgeAfter: 'Deleted tasks older than this (since deletion) are removed from the database.',
    ForgetKeysAfter:
      "A purged task's idempotency key is kept this long after the purge (collection task_keys, TTL index), so a redelivered or resubmitted message is still a duplicate. ArchiveAfter + DeleteAfter + PurgeAfter + ForgetKeysAfter must be at least 7 days.",
  },
});
