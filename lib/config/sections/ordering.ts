import { z } from 'zod';
import { defineSection } from '../section.js';

export const orderingSection = defineSection({
  name: 'Ordering',
  schema: z.object({
    OnFailure: z.enum(['continue', 'block'], { message: 'continue or block' }).default('continue'),
  }),
  secrets: [],
  docs: {
    OnFailure:
      'A task of an ordering key (Service Bus session id, or the message\'s orderingKey) that fails for good: continue (the next task of the key runs, as Service Bus sessions and BullMQ groups do) or block (nothing more of the key runs until an operator retries the task or runs "taskctl keys unblock").',
  },
});
