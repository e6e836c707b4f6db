import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command, CommandContext } from '../command.js';
import { ApiError, CliError, ExitCode, UsageError } from '../errors.js';
import { json } from '../format.js';
import { intOpt, jsonOpt, stringOpt } from '../options.js';
import { ProgressBar } from '../progress.js';
import { enqueueLine, type EnqueueLine } from '../schemas.js';
import { errorMessage } from '../../errors/message.js';
import { describeViolation, parseTaskInput, scanDocument } from '../../tasks/input-limits.js';

type Via = 'messages' | 'tasks';

/** A line larger than this cannot be a task the API accepts (its request limit is 1 MiB). */
const MAX_LINE_BYTES = 1024 * 1024;

interface Outcome {
  line: number;
  ok: boolean;
  via?: Via;
  created?: boolean;
  id?: string;
  error?: string;
}

async function readLines(ctx: CommandContext, file: string): Promise<string[]> {
  let text: string;
  if (file === '-') {
    const chunks: string[] = [];
    for await (const c of ctx.io.stdin) chunks.push(typeof c === 'string' ? c : c.toString('utf8'));
    text = chunks.join('');
  } else {
    try {
      text = await readFile(resolve(ctx.io.cwd, file), 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`);
    }
  }
  return text.split(/\r?\n/);
}

/**
 * Sends one task. "auto" tries POST /messages (through the queue, like production traffic) and falls
 * back to POST /tasks for good once the host says it has no queue (404).
 */
class Sender {
  private via: Via | 'auto';

  constructor(
    private readonly ctx: CommandContext,
    via: Via | 'auto',
  ) {
    this.via = via;
  }

  async send(task: EnqueueLine): Promise<Omit<Outcome, 'line'>> {
    // Captured: concurrent sends may all be trying /messages when the first 404 comes back.
    const mode = this.via;
    if (mode !== 'tasks') {
      try {
        const res = await this.ctx.client.request('POST', '/messages', { body: { body: task } });
        const id = (res.data as { messageId?: unknown } | null)?.messageId;
        return { ok: true, via: 'messages', ...(typeof id === 'string' ? { id } : {}) };
      } catch (e) {
        if (!(mode === 'auto' && e instanceof ApiError && e.status === 404)) throw e;
        this.via = 'tasks';
      }
    }
    const res = await this.ctx.client.request('POST', '/tasks', { body: task });
    const id = (res.data as { id?: unknown } | null)?.id;
    return { ok: true, via: 'tasks', created: res.status === 201, ...(typeof id === 'string' ? { id } : {}) };
  }
}

function single(ctx: CommandContext): EnqueueLine {
  const type = ctx.positionals[0];
  if (!type) throw new UsageError('give a task type, or --file FILE (JSON lines; - for stdin)');
  const payload = ctx.options.payload !== undefined ? jsonOpt(ctx, 'payload') : undefined;
  const violation = payload === undefined ? undefined : scanDocument(payload);
  if (violation) throw new UsageError(`invalid --payload: ${describeViolation(violation)}`);
  const r = enqueueLine.safeParse({
    type,
    ...(payload !== undefined ? { payload } : {}),
    ...(ctx.options.priority !== undefined ? { priority: intOpt(ctx, 'priority') } : {}),
    ...(ctx.options['idempotency-key'] !== undefined ? { idempotencyKey: stringOpt(ctx, 'idempotency-key') } : {}),
    ...(ctx.options['max-retries'] !== undefined
      ? { maxRetries: intOpt(ctx, 'max-retries', { min: 0, max: 100 }) }
      : {}),
    ...(ctx.options['ordering-key'] !== undefined ? { orderingKey: stringOpt(ctx, 'ordering-key') } : {}),
  });
  if (!r.success)
    throw new UsageError(`invalid task: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

export const enqueueCommand: Command = {
  name: 'enqueue',
  args: '[<type>]',
  summary:
    'Enqueues one task, or many from --file (JSON lines, "-" for stdin) with a progress bar on stderr and a summary. Exit 1 if any failed.',
  options: {
    payload: { type: 'string', help: 'JSON payload of the one task' },
    priority: { type: 'string', help: 'priority of the one task (higher runs first)' },
    'idempotency-key': { type: 'string', help: 'idempotency key of the one task (same key, same task)' },
    'max-retries': { type: 'string', help: 'retries of the one task' },
    'ordering-key': { type: 'string', help: 'ordering key of the one task (same key: one at a time, in order)' },
    file: {
      type: 'string',
      short: 'f',
      help: 'JSON lines, one task per line: {"type":"...","payload":...}; "-" reads stdin',
    },
    via: { type: 'string', help: 'messages (through the queue), tasks (direct), or auto (default)' },
    concurrency: { type: 'string', help: 'requests in flight for --file (default 8)' },
  },
  positionals: { min: 0, max: 1 },
  async run(ctx) {
    const viaOpt = stringOpt(ctx, 'via') ?? 'auto';
    if (!['auto', 'messages', 'tasks'].includes(viaOpt)) throw new UsageError('--via is messages, tasks or auto');
    const sender = new Sender(ctx, viaOpt as Via | 'auto');
    const file = stringOpt(ctx, 'file');

    if (file === undefined) {
      const out = await sender.send(single(ctx));
      if (ctx.json) ctx.out(json(out));
      else
        ctx.out(
          out.via === 'messages'
            ? `sent message ${out.id ?? ''}`.trim()
            : `${out.created ? 'created' : 'exists (same idempotency key)'} task ${out.id ?? ''}`.trim(),
        );
      return ExitCode.ok;
    }
    if (ctx.positionals.length) throw new UsageError('give either a type or --file, not both');
    const concurrency = intOpt(ctx, 'concurrency', { min: 1, max: 64 }) ?? 8;
    const lines = (await readLines(ctx, file))
      .map((text, i) => ({ text: text.trim(), line: i + 1 }))
      .filter((l) => l.text !== '');
    const outcomes: Outcome[] = [];
    const bar = new ProgressBar(ctx.io.stderr, lines.length);
    let done = 0;
    let failed = 0;
    let fatal: CliError | undefined;
    const began = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < lines.length && !fatal) {
        const { text, line } = lines[next++]!;
        let outcome: Outcome;
        // The limits every door applies (size, depth, keys, types), before zod's recursive checks.
        const parsed = parseTaskInput(text, { maxBytes: MAX_LINE_BYTES });
        const task = parsed.ok ? enqueueLine.safeParse(parsed.value) : undefined;
        if (!task?.success) {
          outcome = {
            line,
            ok: false,
            error: task
              ? task.error.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; ')
              : parsed.ok || !parsed.violation
                ? 'not JSON'
                : describeViolation(parsed.violation),
          };
        } else {
          try {
            outcome = { line, ...(await sender.send(task.data)) };
          } catch (e) {
            // Unreachable API or refused key: every other line would fail the same way.
            if (e instanceof CliError && e.exitCode === ExitCode.unreachable) fatal = e;
            outcome = { line, ok: false, error: errorMessage(e) };
          }
        }
        outcomes.push(outcome);
        done++;
        if (!outcome.ok) failed++;
        bar.update(done, failed);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, lines.length)) }, worker));
    if (fatal) throw fatal;
    outcomes.sort((a, b) => a.line - b.line);
    const summary = {
      total: lines.length,
      succeeded: outcomes.filter((o) => o.ok).length,
      failed,
      viaMessages: outcomes.filter((o) => o.via === 'messages').length,
      created: outcomes.filter((o) => o.created === true).length,
      duplicates: outcomes.filter((o) => o.via === 'tasks' && o.created === false).length,
      seconds: Number(((Date.now() - began) / 1000).toFixed(3)),
      errors: outcomes
        .filter((o) => !o.ok)
        .slice(0, 100)
        .map((o) => ({ line: o.line, error: o.error })),
    };
    for (const e of summary.errors) ctx.err(`line ${e.line}: ${e.error}`);
    ctx.err(
      `enqueued ${summary.succeeded} of ${summary.total}${summary.viaMessages ? ` (${summary.viaMessages} as messages)` : ` (${summary.created} created, ${summary.duplicates} already existed)`}; ${failed} failed; ${summary.seconds}s`,
    );
    if (ctx.json) ctx.out(json(summary));
    return failed > 0 ? ExitCode.failed : ExitCode.ok;
  },
};
