import type { AdminClient } from './client.js';
import { CliError, ExitCode } from './errors.js';
import type { z } from 'zod';

export interface CliIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  stdin: AsyncIterable<Buffer | string>;
  env: Record<string, string | undefined>;
  cwd: string;
}

export type OptionSpec = Record<
  string,
  { type: 'string' | 'boolean'; short?: string; multiple?: boolean; help: string }
>;
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandContext {
  client: AdminClient;
  json: boolean;
  positionals: string[];
  options: OptionValues;
  io: CliIO;
  out(line: string): void;
  err(line: string): void;
}

export interface Command {
  /** "tasks list", "status", ... */
  name: string;
  args?: string;
  summary: string;
  options: OptionSpec;
  /** Positionals after the command words, exactly this many (or between min and max). */
  positionals: { min: number; max: number };
  run(ctx: CommandContext): Promise<ExitCode>;
}

/** Validates an API answer against what the CLI expects; a mismatch means a different API version. */
export function expectShape<S extends z.ZodType>(schema: S, data: unknown, what: string): z.output<S> {
  const r = schema.safeParse(data);
  if (!r.success)
    throw new CliError(
      `unexpected answer for ${what} (is the API a different version?): ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`,
      ExitCode.failed,
    );
  return r.data;
}
