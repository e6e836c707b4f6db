import { z } from 'zod';
import { defineSection } from '../section.js';
import { duration } from '../duration.js';

export const retentionSection = defineSection({
  name: 'Retention',
  schema: z.object({
    ArchiveAfter: duration({ min: 1 }).default(7 * 86_400_000),
    DeleteAfter: duration({ min: 1 }).default(30 * 86_400_000),
    PurgeAfter: duration({ min: 1 }).default(7 * 86_400_000),
  }),
  secrets: [],
  docs: {
    ArchiveAfter: 'Finished tasks (Succeeded, Failed, Error, Cancelled, Timeout) older than this become Archived.',
    DeleteAfter: 'Archived tasks older than this (since archiving) become Deleted.',
    PurgeAfter: 'Deleted tasks older than this (since deletion) are removed from the database.',
  },
});
