/**
 * Exit codes scripts can rely on:
 *   0  success
 *   1  the operation failed or found nothing (404, 409, an unhealthy status, failed messages)
 *   2  usage error (bad arguments or options, or input the API refused as invalid: 400/405/413/415)
 *   3  cannot reach the API, or authentication failed (401/403)
 */
export const ExitCode = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = 'UsageError';
  }
}

/** The API answered with an error status; `problem` is its RFC 9457 body when it sent one. */
export class ApiError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly problem?: {
      type?: string;
      title?: string;
      detail?: string;
      'invalid-params'?: { name: string; reason: string }[];
    },
  ) {
    super(message, exitCodeForStatus(status));
    this.name = 'ApiError';
  }
}

export function exitCodeForStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return ExitCode.unreachable;
  if ([400, 405, 413, 415, 422].includes(status)) return ExitCode.usage;
  return ExitCode.failed;
}
