import { z } from 'zod';
import { defineSection } from '../section.js';
import { duration } from '../duration.js';
import { optionalText } from '../coerce.js';

export const deadLetterSection = defineSection({
  name: 'DeadLetter',
  schema: z.object({
    Queue: optionalText(),
    ClaimTimeout: duration({ min: 1 }).default(300_000),
    SweepWindow: duration({ min: 1 }).default(86_400_000),
  }),
  secrets: [],
  docs: {
    Queue:
      'Queue (of Ingest:Provider) that receives each task ending Error or Timeout after its last attempt, with its reason, last error and original message; `taskctl dlq` replays from it. Unset: off.',
    ClaimTimeout:
      'A sender that claimed a task’s dead letter and has not sent it after this long is presumed dead; the reclaimer sends it instead.',
    SweepWindow:
      'How far back each reclaimer pass looks for failed tasks not yet sent to DeadLetter:Queue (after a crash or a queue outage).',
  },
});
