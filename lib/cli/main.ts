import { parseArgs } from 'node:util';
import { AdminClient } from './client.js';
import type { CliIO, Command, CommandContext, OptionSpec, OptionValues } from './command.js';
import { enqueueCommand } from './commands/enqueue.js';
import { keysListCommand, keysUnblockCommand } from './commands/keys.js';
import { dlqListCommand } from './commands/dlq.js';
import { statusCommand } from './commands/status.js';
import { tasksCancelCommand, tasksListCommand, tasksRetryCommand, tasksShowCommand } from './commands/tasks.js';
import { dlqReplayCommand, queuesCommand, workersCommand } from './commands/workers-queues.js';
import { CliError, ExitCode, UsageError } from './errors.js';
import { intOpt, stringOpt } from './options.js';
import { errorMessage } from '../errors/message.js';

export const commands: readonly Command[] = [
  statusCommand,
  tasksListCommand,
  tasksShowCommand,
  tasksCancelCommand,
  tasksRetryCommand,
  workersCommand,
  queuesCommand,
  dlqListCommand,
  dlqReplayCommand,
  enqueueCommand,
  keysListCommand,
  keysUnblockCommand,
];

const DEFAULT_URL = 'http://127.0.0.1:7071/api';

export const globalOptions: OptionSpec = {
  url: { type: 'string', help: `admin API base URL (default $TASKCTL_URL or ${DEFAULT_URL})` },
  key: { type: 'string', help: 'admin key (default $TASKCTL_KEY, then $Admin__ApiKey)' },
  json: { type: 'boolean', help: 'machine-readable JSON on stdout' },
  timeout: { type: 'string', help: 'per-request timeout in ms (default 15000)' },
  help: { type: 'boolean', short: 'h', help: 'this help' },
};

function optionLines(spec: OptionSpec): string[] {
  return Object.entries(spec).map(
    ([name, o]) =>
      `  ${`${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' <value>' : ''}`.padEnd(30)} ${o.help}`,
  );
}

export function usage(command?: Command): string {
  if (command) {
    return [
      `usage: taskctl ${command.name}${command.args ? ` ${command.args}` : ''} [options]`,
      '',
      command.summary,
      '',
      'options:',
      ...optionLines(command.options),
      ...optionLines(globalOptions),
    ].join('\n');
  }
  return [
    'usage: taskctl <command> [options]',
    '',
    'Operates a taskmesh deployment through its admin API.',
    '',
    'commands:',
    ...commands.map((c) => `  ${`${c.name}${c.args ? ` ${c.args}` : ''}`.padEnd(22)} ${c.summary}`),
    '',
    'global options:',
    ...optionLines(globalOptions),
    '',
    'exit codes:',
    '  0  success',
    '  1  the operation failed or found nothing (not found, conflict, unhealthy, failed messages)',
    '  2  usage error (bad arguments, or input the API refused as invalid)',
    '  3  cannot reach the API, or authentication failed',
    '',
    'examples:',
    '  taskctl status',
    '  taskctl tasks list --status Error,Timeout --limit 20',
    '  taskctl tasks retry 5f0c... && taskctl tasks show 5f0c... --json | jq .status',
    '  taskctl enqueue email.send --payload \'{"to":"a@b.c"}\' --idempotency-key order-42',
    '  cat tasks.jsonl | taskctl enqueue --file -',
  ].join('\n');
}

/** Finds the command named by the leading positionals ("tasks list" before "tasks"). */
function findCommand(words: string[]): { command: Command; rest: string[] } | undefined {
  for (const c of [...commands].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length)) {
    const parts = c.name.split(' ');
    if (parts.every((p, i) => words[i] === p)) return { command: c, rest: words.slice(parts.length) };
  }
  return undefined;
}

function toParseArgsOptions(spec: OptionSpec) {
  return Object.fromEntries(
    Object.entries(spec).map(([k, o]) => [
      k,
      { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
    ]),
  );
}

/** Runs taskctl with `argv` (without node and the script); resolves to the exit code. Never calls process.exit. */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<ExitCode> {
  const out = (s: string) => void io.stdout.write(`${s}\n`);
  const err = (s: string) => void io.stderr.write(`${s}\n`);
  try {
    // First pass: only to find the command words among the arguments.
    const loose = parseArgs({
      args: [...argv],
      options: toParseArgsOptions(globalOptions),
      strict: false,
      allowPositionals: true,
    });
    const words = loose.positionals;
    if (words.length === 0) {
      (loose.values.help ? out : err)(usage());
      return loose.values.help ? ExitCode.ok : ExitCode.usage;
    }
    const found = findCommand(words);
    if (!found) {
      err(`taskctl: unknown command "${words.slice(0, 2).join(' ')}"\n`);
      err(usage());
      return ExitCode.usage;
    }
    const { command } = found;
    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv],
        options: toParseArgsOptions({ ...globalOptions, ...command.options }),
        strict: true,
        allowPositionals: true,
      });
    } catch (e) {
      throw new UsageError(`${errorMessage(e).split('\n')[0]}\n\n${usage(command)}`);
    }
    const values = parsed.values as OptionValues;
    if (values.help) {
      out(usage(command));
      return ExitCode.ok;
    }
    const positionals = parsed.positionals.slice(command.name.split(' ').length);
    if (positionals.length < command.positionals.min || positionals.length > command.positionals.max) {
      throw new UsageError(`${command.name} takes ${command.args ?? 'no arguments'}\n\n${usage(command)}`);
    }
    const base: Omit<CommandContext, 'client'> = {
      json: values.json === true,
      positionals,
      options: values,
      io,
      out,
      err,
    };
    const url = stringOpt(base as CommandContext, 'url') ?? io.env.TASKCTL_URL ?? DEFAULT_URL;
    if (!/^https?:\/\/[^/]+/.test(url)) throw new UsageError(`--url must be an http(s) URL, not "${url}"`);
    const key = stringOpt(base as CommandContext, 'key') ?? io.env.TASKCTL_KEY ?? io.env.Admin__ApiKey;
    const timeoutMs = intOpt(base as CommandContext, 'timeout', { min: 100, max: 600_000 }) ?? 15_000;
    const client = new AdminClient({ url, ...(key ? { key } : {}), timeoutMs });
    return await command.run({ ...base, client });
  } catch (e) {
    if (e instanceof CliError) {
      err(`taskctl: ${e.message}`);
      return e.exitCode;
    }
    err(`taskctl: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return ExitCode.failed;
  }
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}
