import { expectShape, type Command } from '../command.js';
import { ExitCode } from '../errors.js';
import { ago, json, table } from '../format.js';
import { intOpt } from '../options.js';
import * as S from '../schemas.js';

export const dlqListCommand: Command = {
  name: 'dlq list',
  summary:
    'Tasks that failed for good and went to the dead-letter queue (DeadLetter:Queue): reason, when, replays. Replay them with `dlq replay <that queue>`.',
  options: { limit: { type: 'string', help: 'at most this many (default 100, up to 1000)' } },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const limit = intOpt(ctx, 'limit', { min: 1, max: 1000 });
    const res = await ctx.client.request('GET', '/dead-letters/tasks', {
      query: { limit: limit !== undefined ? String(limit) : undefined },
    });
    const d = expectShape(S.taskDeadLetters, res.data, 'GET /dead-letters/tasks');
    if (ctx.json) ctx.out(json(res.data));
    else if (d.items.length === 0) ctx.out(`no failed tasks in ${d.queue}`);
    else {
      ctx.out(`dead-letter queue: ${d.queue}`);
      ctx.out(
        table(
          ['TASK', 'TYPE', 'STATUS', 'ATTEMPTS', 'SENT', 'REPLAYED', 'REASON'],
          d.items.map((x) => [
            x.taskId,
            x.type,
            x.status,
            String(x.attempts),
            ago(x.sentAt),
            x.replayedAt ? `${ago(x.replayedAt)} as ${x.replayMessageId ?? '?'}` : '-',
            x.reason ?? '',
          ]),
          { maxWidth: 60 },
        ),
      );
    }
    return ExitCode.ok;
  },
};
