import { z } from 'zod';
import { defineSection } from '../section.js';
import { boolean, integer, nameList, optionalText } from '../coerce.js';

export const handlersSection = defineSection({
  name: 'Handlers',
  schema: z.object({
    Module: optionalText(),
    BuiltIns: boolean().default(true),
    Isolation: z.enum(['inline', 'thread', 'process'], { message: 'one of inline, thread, process' }).default('inline'),
    PoolSize: integer({ min: 1, max: 256 }).optional(),
    MemoryLimit: integer({ min: 16, max: 65_536 }).optional(),
    AllowUnknownTypes: boolean().default(false),
    ExtraTypes: nameList(),
  }),
  secrets: [],
  docs: {
    Module:
      "Module exporting the application's task handlers (path from the working directory); default: the handlers/ folder (handlers/index.ts, built to dist/handlers/index.js).",
    BuiltIns: 'Also run the built-in echo, sleep and fail task types.',
    Isolation:
      "Where handlers run unless they say otherwise: inline (the worker's event loop), thread (a pooled worker thread) or process (a pooled child process). Isolated handlers cannot stall heartbeats and can be terminated.",
    PoolSize:
      'Threads or child processes kept per isolation kind (default: Worker:Concurrency). For CPU-bound handlers set it to the number of cores: more busy threads than cores starve the worker loop.',
    MemoryLimit: 'Heap limit of one isolated handler thread or process, in MB (unset: the Node.js default).',
    AllowUnknownTypes:
      'Accept tasks of any type at ingest and POST /api/tasks (they wait for a worker that handles them).',
    ExtraTypes:
      'Comma-separated task types served by another deployment: accepted at ingest and POST /api/tasks though no handler here declares them.',
  },
});
