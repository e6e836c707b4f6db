import { z } from 'zod';
import { defineSection } from '../section.js';
import { optionalText } from '../coerce.js';

export const adminSection = defineSection({
  name: 'Admin',
  schema: z.object({
    ApiKey: optionalText(),
  }),
  secrets: ['ApiKey'],
  docs: {
    ApiKey:
      'Key the admin API and dashboard require (header x-functions-key, or ?code=) on Function Compute and locally; unset: every admin request is refused. On Azure the Functions host checks function keys instead. Secret.',
  },
});
