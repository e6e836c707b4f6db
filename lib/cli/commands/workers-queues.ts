import { expectShape, type Command } from '../command.js';
import { ExitCode } from '../errors.js';
import { age, json, str, table } from '../format.js';
import { intOpt, stringOpt, stringsOpt } from '../options.js';
import * as S from '../schemas.js';

export const workersCommand: Command = {
  name: 'workers',
  summary: 'Registered workers: state, heartbeat age, current tasks.',
  options: {
    state: {
      type: 'string',
      multiple: true,
      help: 'only these states (starting, idle, busy, draining, stopped, dead)',
    },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const res = await ctx.client.request('GET', '/workers', {
      query: { state: stringsOpt(ctx, 'state').join(',') || undefined },
    });
    const w = expectShape(S.workers, res.data, 'GET /workers');
    if (ctx.json) ctx.out(json(res.data));
    else if (w.items.length === 0) ctx.out('no workers');
    else {
      ctx.out(
        table(
          ['WORKER', 'STATE', 'HEARTBEAT', 'TASKS', 'PROCESSED', 'HOST'],
          w.items.map((x) => [
            x.id,
            `${x.state}${x.stale ? ' (stale)' : ''}`,
            `${age(x.heartbeatAgeMs)} ago`,
            `${x.currentTasks}/${x.concurrency}`,
            str(x.processed),
            [x.host?.hostname, x.host?.runtime].filter(Boolean).join(' '),
          ]),
          { maxWidth: 60 },
        ),
      );
    }
    return ExitCode.ok;
  },
};

export const queuesCommand: Command = {
  name: 'queues',
  summary: 'Queue depth, dead-letter depth and oldest message age per provider. Exit 1 if one is unreachable.',
  options: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const res = await ctx.client.request('GET', '/queues');
    const q = expectShape(S.queues, res.data, 'GET /queues');
    const code = q.items.every((x) => x.reachable) ? ExitCode.ok : ExitCode.failed;
    if (ctx.json) ctx.out(json(res.data));
    else if (q.items.length === 0) ctx.out('no queue providers configured');
    else {
      ctx.out(
        table(
          ['PROVIDER', 'QUEUE', 'DEPTH', 'DEAD LETTERS', 'OLDEST', 'STATUS'],
          q.items.map((x) => [
            x.provider,
            x.queue,
            str(x.depth),
            str(x.deadLetterDepth),
            age(x.oldestMessageAgeMs),
            x.reachable ? 'ok' : `unreachable: ${x.error ?? ''}`,
          ]),
          { maxWidth: 60 },
        ),
      );
    }
    return code;
  },
};

export const dlqReplayCommand: Command = {
  name: 'dlq replay',
  args: '<queue>',
  summary:
    'Moves dead-lettered messages back to the queue; for DeadLetter:Queue, sends failed tasks again as new runs. Exit 1 if any could not be moved.',
  options: {
    max: { type: 'string', help: 'at most this many messages (default 100, up to 10000)' },
    provider: { type: 'string', help: 'provider kind, when several read a queue of that name' },
  },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const max = intOpt(ctx, 'max', { min: 1, max: 10_000 });
    const provider = stringOpt(ctx, 'provider');
    const res = await ctx.client.request(
      'POST',
      `/queues/${encodeURIComponent(ctx.positionals[0]!)}/dead-letters/replay`,
      { body: { ...(max !== undefined ? { max } : {}), ...(provider ? { provider } : {}) } },
    );
    const r = expectShape(S.replay, res.data, 'POST /queues/{name}/dead-letters/replay');
    if (ctx.json) ctx.out(json(res.data));
    else {
      ctx.out(
        `replayed ${r.replayed} message(s) from ${r.provider}/${r.queue}'s dead-letter queue${r.failed ? `; ${r.failed} failed` : ''}`,
      );
      const tasks = S.taskReplays.safeParse(res.data);
      for (const x of tasks.success ? tasks.data.replays : [])
        ctx.out(`  task ${x.taskId} -> new message ${x.messageId}`);
      for (const e of r.errors) ctx.err(`  ${e}`);
    }
    return r.failed > 0 ? ExitCode.failed : ExitCode.ok;
  },
};
