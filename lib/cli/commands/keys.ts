import { expectShape, type Command } from '../command.js';
import { ExitCode } from '../errors.js';
import { json, table } from '../format.js';
import { intOpt } from '../options.js';
import * as S from '../schemas.js';

export const keysListCommand: Command = {
  name: 'keys',
  summary: 'Ordering keys: whose turn it is, how many tasks so far, which are blocked by a failed task.',
  options: {
    blocked: { type: 'boolean', help: 'only keys blocked by a task that failed for good (Ordering:OnFailure=block)' },
    limit: { type: 'string', help: 'at most this many keys (default 100)' },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const limit = intOpt(ctx, 'limit', { min: 1, max: 1000 });
    const res = await ctx.client.request('GET', '/ordering-keys', {
      query: { blocked: ctx.options.blocked === true ? 'true' : undefined, limit: limit?.toString() },
    });
    const keys = expectShape(S.orderingKeys, res.data, 'GET /ordering-keys');
    if (ctx.json) ctx.out(json(res.data));
    else if (keys.items.length === 0) ctx.out(ctx.options.blocked === true ? 'no blocked keys' : 'no ordering keys');
    else
      ctx.out(
        table(
          ['KEY', 'STATE', 'HEAD TASK', 'TASKS'],
          keys.items.map((k) => [
            k.key,
            k.blocked ? 'BLOCKED' : k.activeTaskId ? 'running' : 'idle',
            k.activeTaskId ?? '-',
            String(k.seq),
          ]),
          { maxWidth: 60 },
        ),
      );
    return ExitCode.ok;
  },
};

export const keysUnblockCommand: Command = {
  name: 'keys unblock',
  args: '<key>',
  summary: "Lets a blocked ordering key go on: its failed task is passed over, the key's next task runs.",
  options: {},
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const key = ctx.positionals[0]!;
    const res = await ctx.client.request('POST', `/ordering-keys/${encodeURIComponent(key)}/unblock`);
    const r = expectShape(S.unblockAnswer, res.data, 'POST /ordering-keys/{key}/unblock');
    if (ctx.json) ctx.out(json(res.data));
    else ctx.out(`unblocked ${key}; ${r.key?.activeTaskId ? `task ${r.key.activeTaskId} runs next` : 'no task waits'}`);
    return ExitCode.ok;
  },
};
