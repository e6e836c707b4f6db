import { z } from 'zod';
import { defineSection } from '../section.js';

export const mongoDbSection = defineSection({
  name: 'MongoDB',
  schema: z.object({
    ConnectionString: z
      .string()
      .min(1)
      .regex(/^mongodb(\+srv)?:\/\//, { message: 'a mongodb:// or mongodb+srv:// URI' })
      .default('mongodb://127.0.0.1:27017'),
    DatabaseName: z
      .string()
      .regex(/^[^/\\. "$*<>:|?]{1,63}$/, { message: 'a MongoDB database name (1-63 chars, none of /\\. "$*<>:|?)' })
      .default('taskmesh'),
  }),
  secrets: ['ConnectionString'],
  docs: {
    ConnectionString:
      'MongoDB connection string. The env var MONGODB_URI, when set, wins (tests and the local runtime use it).',
    DatabaseName: 'Database holding the tasks and workers collections.',
  },
});
