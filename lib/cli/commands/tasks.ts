import { expectShape, type Command, type CommandContext } from '../command.js';
import { ExitCode } from '../errors.js';
import { ago, json, str, table } from '../format.js';
import { boolOpt, intOpt, stringOpt, stringsOpt } from '../options.js';
import * as S from '../schemas.js';
import type { z } from 'zod';

const MAX_PAGES_ALL = 1000;

function taskPath(ctx: CommandContext, suffix = ''): string {
  const id = ctx.positionals[0]!;
  return `/tasks/${encodeURIComponent(id)}${suffix}`;
}

function printTask(ctx: CommandContext, t: z.output<typeof S.taskDetail>): void {
  const rows: [string, string][] = [
    ['id', t.id],
    ['type', t.type],
    ['status', `${t.statusName} (${t.status})${t.cancelRequested ? ', cancel requested' : ''}`],
    ['attempts', `${t.attempts} of ${t.maxRetries + 1}`],
    ['priority', String(t.priority)],
    ['worker', t.workerId ?? '-'],
    ['created', `${t.createdAt} (${ago(t.createdAt)})`],
    ['started', str(t.startedAt)],
    ['finished', str(t.finishedAt)],
    ['next attempt', t.nextAttemptAt],
    ['version', String(t.version)],
    ['idempotency', t.idempotencyKey],
    [
      'source',
      t.source ? `${t.source.provider}/${t.source.queue}${t.source.messageId ? `/${t.source.messageId}` : ''}` : '-',
    ],
    ['reason', t.reason ?? '-'],
    ['payload', str(t.payload)],
    ['result', str(t.result)],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) ctx.out(`${k.padEnd(w)}  ${v}`);
  ctx.out('');
  ctx.out(`errors (${t.errors.length}):`);
  for (const e of t.errors) {
    ctx.out(
      `  [attempt ${e.attempt}${e.workerId ? `, ${e.workerId}` : ''}, ${e.at}] ${e.kind ? `${e.kind}: ` : ''}${e.message}`,
    );
    if (e.stack) for (const line of e.stack.split('\n')) ctx.out(`      ${line}`);
  }
  ctx.out('');
  ctx.out('history:');
  ctx.out(
    table(
      ['AT', 'FROM', 'TO', 'BY', 'REASON'],
      t.history.map((h) => [
        h.at,
        h.fromName ? `${h.fromName} (${h.from})` : '-',
        `${h.toName} (${h.to})`,
        h.by ?? '',
        h.reason ?? '',
      ]),
      { maxWidth: 60 },
    ).replace(/^/gm, '  '),
  );
}

export const tasksListCommand: Command = {
  name: 'tasks list',
  summary: 'Lists tasks, newest first.',
  options: {
    status: { type: 'string', multiple: true, help: 'status names or numbers, comma-separated or repeated' },
    type: { type: 'string', help: 'task type' },
    worker: { type: 'string', help: 'owning worker id' },
    from: { type: 'string', help: 'created at or after (ISO 8601 or epoch ms)' },
    to: { type: 'string', help: 'created before (ISO 8601 or epoch ms)' },
    limit: { type: 'string', help: 'page size, 1-500 (default 50)' },
    cursor: { type: 'string', help: 'continue after a previous page' },
    all: { type: 'boolean', help: 'follow the cursor through every page' },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const limit = intOpt(ctx, 'limit', { min: 1, max: 500 });
    const query = {
      status: stringsOpt(ctx, 'status').join(',') || undefined,
      type: stringOpt(ctx, 'type'),
      worker: stringOpt(ctx, 'worker'),
      from: stringOpt(ctx, 'from'),
      to: stringOpt(ctx, 'to'),
      limit: limit === undefined ? undefined : String(limit),
    };
    const all = boolOpt(ctx, 'all');
    let cursor = stringOpt(ctx, 'cursor');
    const tasks: z.output<typeof S.taskSummary>[] = [];
    let next: string | null = null;
    for (let page = 0; page < MAX_PAGES_ALL; page++) {
      const res = await ctx.client.request('GET', '/tasks', { query: { ...query, cursor } });
      const p = expectShape(S.taskPage, res.data, 'GET /tasks');
      tasks.push(...p.items);
      next = p.nextCursor;
      if (!all || !next) break;
      cursor = next;
    }
    if (ctx.json) {
      ctx.out(json({ items: tasks, nextCursor: next }));
      return ExitCode.ok;
    }
    if (tasks.length === 0) ctx.out('no tasks');
    else {
      ctx.out(
        table(
          ['ID', 'TYPE', 'STATUS', 'ATTEMPTS', 'WORKER', 'CREATED', 'LAST ERROR'],
          tasks.map((t) => [
            t.id,
            t.type,
            `${t.statusName}${t.cancelRequested && (t.status === 21 || t.status === 22) ? '*' : ''}`,
            `${t.attempts}/${t.maxRetries + 1}`,
            t.workerId ?? '-',
            ago(t.createdAt),
            t.lastError ?? '',
          ]),
        ),
      );
    }
    if (next && !all) ctx.err(`more: --cursor ${next}`);
    return ExitCode.ok;
  },
};

export const tasksShowCommand: Command = {
  name: 'tasks show',
  args: '<id>',
  summary: 'One task with its errors (stack traces) and history.',
  options: {},
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const res = await ctx.client.request('GET', taskPath(ctx));
    const t = expectShape(S.taskDetail, res.data, 'GET /tasks/{id}');
    if (ctx.json) ctx.out(json(res.data));
    else printTask(ctx, t);
    return ExitCode.ok;
  },
};

export const tasksCancelCommand: Command = {
  name: 'tasks cancel',
  args: '<id>',
  summary: 'Cancels a waiting task, or asks the worker running it to stop. Exit 1 if it already finished.',
  options: { reason: { type: 'string', help: 'recorded in the task history' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const reason = stringOpt(ctx, 'reason');
    const res = await ctx.client.request('POST', taskPath(ctx, '/cancel'), { body: reason ? { reason } : {} });
    const a = expectShape(S.cancelAnswer, res.data, 'POST /tasks/{id}/cancel');
    if (ctx.json) ctx.out(json(res.data));
    else
      ctx.out(
        a.outcome === 'cancelled'
          ? `cancelled ${a.task.id}`
          : `cancel requested for ${a.task.id} (${a.task.statusName}); its worker stops it at the next heartbeat`,
      );
    return ExitCode.ok;
  },
};

export const tasksRetryCommand: Command = {
  name: 'tasks retry',
  args: '<id>',
  summary: 'Sends a failed, timed-out or cancelled task back for another attempt. Exit 1 on a conflict.',
  options: { 'expected-version': { type: 'string', help: 'only if the task is still at this version' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const expectedVersion = intOpt(ctx, 'expected-version', { min: 0 });
    const res = await ctx.client.request('POST', taskPath(ctx, '/retry'), {
      body: expectedVersion === undefined ? {} : { expectedVersion },
    });
    const t = expectShape(S.taskDetail, res.data, 'POST /tasks/{id}/retry');
    if (ctx.json) ctx.out(json(res.data));
    else ctx.out(`retrying ${t.id} (${t.statusName}, attempt ${t.attempts + 1} next)`);
    return ExitCode.ok;
  },
};
