import { isSpanContextValid, trace } from '@opentelemetry/api';
import { redactDeep } from '../config/redact.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

/** Structured logger: one JSON object per line; secrets redacted; child loggers carry context (taskId, workerId, ...). */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go (default: stderr for warn/error, stdout otherwise). */
  sink?: (line: string, level: LogLevel) => void;
  bindings?: LogFields;
}

const defaultSink = (line: string, level: LogLevel) => {
  (level === 'warn' || level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
};

export function createLogger(options: LoggerOptions = {}): Logger {
  const envLevel = process.env.LOG_LEVEL as LogLevel | undefined;
  const level: LogLevel = options.level ?? (envLevel && envLevel in order ? envLevel : 'info');
  const sink = options.sink ?? defaultSink;
  const bindings = options.bindings ?? {};
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (order[lvl] < order[level]) return;
    const record = redactDeep({
      time: new Date().toISOString(),
      level: lvl,
      msg,
      ...activeTraceIds(),
      ...bindings,
      ...fields,
    });
    sink(JSON.stringify(record, errorReplacer), lvl);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ level, sink, bindings: { ...bindings, ...fields } }),
  };
}

/** The active span's ids, so a log line can be found from its trace (and back). Empty without a span. */
function activeTraceIds(): LogFields {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : {};
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

/** A logger that drops everything (tests, library use without logging). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
