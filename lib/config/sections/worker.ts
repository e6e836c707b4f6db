import { z } from 'zod';
import { defineSection } from '../section.js';
import { duration } from '../duration.js';
import { integer, optionalText } from '../coerce.js';

/** Worker:HeartbeatTimeout must cover at least this many Worker:HeartbeatIntervals. */
export const HEARTBEATS_PER_TIMEOUT = 3;

export const workerSection = defineSection({
  name: 'Worker',
  schema: z
    .object({
      BatchSize: integer({ min: 1, max: 1000 }).default(10),
      PollingInterval: duration({ min: 10 }).default(10_000),
      HeartbeatInterval: duration({ min: 10 }).default(30_000),
      MaxRetries: integer({ min: 0, max: 100 }).default(3),
      HeartbeatTimeout: duration({ min: 10 }).default(300_000),
      Concurrency: integer({ min: 1, max: 1000 }).optional(),
      RetryBaseDelay: duration().default(5_000),
      RetryMaxDelay: duration().default(3_600_000),
      TaskTimeout: duration({ min: 1 }).default(300_000),
      ShutdownTimeout: duration().default(25_000),
      StateDirectory: optionalText(),
    })
    .superRefine((w, ctx) => {
      // A lease must survive a few missed heartbeats (a slow beat, a GC pause, a failover) before it is reclaimed.
      if (w.HeartbeatTimeout < HEARTBEATS_PER_TIMEOUT * w.HeartbeatInterval)
        ctx.addIssue({
          code: 'custom',
          path: ['HeartbeatTimeout'],
          message: `at least ${HEARTBEATS_PER_TIMEOUT} x Worker:HeartbeatInterval (${w.HeartbeatInterval} ms), so at least ${HEARTBEATS_PER_TIMEOUT * w.HeartbeatInterval} ms; raise Worker:HeartbeatTimeout or lower Worker:HeartbeatInterval`,
        });
    }),
  secrets: [],
  docs: {
    BatchSize:
      'Tasks claimed per poll (one batch claim when above 1). A long-running worker claims the next batch once fewer than half a batch wait for a slot (it holds at most 2 x Concurrency + 1.5 x BatchSize leases: see Concurrency); a serverless invocation claims only for free slots.',
    PollingInterval:
      'Longest pause between polls of an idle worker ("hh:mm:ss"): after an empty poll it waits 1/64 of this, doubling up to it. A wake-up (a task became claimable: created, retried, released, reclaimed, a backoff or notBefore ended) ends the pause at once; a poll that found a full batch polls again at once.',
    HeartbeatInterval: 'Time between heartbeats of a running task and of the worker record.',
    MaxRetries: 'Retries after the first attempt before a task ends Error (a handler may set its own).',
    HeartbeatTimeout:
      "A task (or worker) whose last heartbeat is older than this (by the database server's clock) is reclaimed (marked dead). At least 3 x HeartbeatInterval.",
    Concurrency:
      'Handlers run at once by one worker; defaults to BatchSize. A run gives its slot up when its handler settles, so the next handler starts while the last outcome is being written; at most 2 x Concurrency runs are active (running or writing their outcome), and a stopping worker waits for every outcome write.',
    RetryBaseDelay: 'Base of the exponential backoff between attempts (full jitter).',
    RetryMaxDelay: 'Cap of the exponential backoff between attempts.',
    TaskTimeout:
      'Default handler timeout; a task that outlives it ends Timeout (retried if attempts remain). Serverless invocations only claim tasks whose timeout fits before their deadline, so keep it below the function timeout (host.json functionTimeout 00:10:00).',
    ShutdownTimeout: 'On shutdown, how long running tasks may finish before they are released.',
    StateDirectory: 'Directory where a worker keeps its id across restarts (unset: a new id per start).',
  },
});
