import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineHandler, type TaskHandler } from './handler.js';

/** `echo`: the result is the payload. */
export const echoHandler = defineHandler({
  type: 'echo',
  schema: z.unknown(),
  run: (payload) => payload,
});

/** `sleep`: waits `ms` milliseconds; a cancel, timeout or shutdown ends the wait at once. */
export const sleepHandler = defineHandler({
  type: 'sleep',
  schema: z.object({ ms: z.number().int().min(0).max(86_400_000) }),
  run: async ({ ms }, ctx) => {
    ctx.progress({ sleepingMs: ms });
    await sleep(ms, undefined, { signal: ctx.signal });
    return { sleptMs: ms };
  },
});

/** `fail`: fails its first `times` attempts (with `message`), then succeeds. */
export const failHandler = defineHandler({
  type: 'fail',
  schema: z.object({ times: z.number().int().min(0), message: z.string().optional() }),
  run: ({ times, message }, ctx) => {
    if (ctx.attempt <= times) throw new Error(message ?? `planned failure ${ctx.attempt} of ${times}`);
    return { succeededOnAttempt: ctx.attempt };
  },
});

/** The built-in task types, for local runs and demonstrations. */
export function builtinHandlers(): TaskHandler<z.ZodType, unknown>[] {
  return [echoHandler, sleepHandler, failHandler] as TaskHandler<z.ZodType, unknown>[];
}
