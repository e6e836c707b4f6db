import {
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  isSpanContextValid,
  trace,
  type Attributes,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';

/**
 * Trace helpers. A message's trace runs receipt -> ingest (the store copies the active span's
 * `traceparent` into the task document) -> processing, whose span links back to the ingest span
 * through the task's stored `traceparent`. Processing is a link, not a child: it happens later, maybe
 * several times, and is its own unit of work.
 */
export const TRACER_NAME = 'taskmesh';

/** Span attribute names shared by every module, so a task or message is found by the same key everywhere. */
export const spanAttributes = {
  taskId: 'taskmesh.task.id',
  taskType: 'taskmesh.task.type',
  attempt: 'taskmesh.task.attempt',
  /** How a processing attempt ended (the worker's OutcomeKind). */
  outcome: 'taskmesh.task.outcome',
  workerId: 'taskmesh.worker.id',
  messageId: 'messaging.message.id',
  queue: 'messaging.destination.name',
  provider: 'messaging.system',
  invocationId: 'faas.invocation_id',
} as const;

export interface WithSpanOptions {
  kind?: SpanKind;
  links?: Link[];
  /** A W3C traceparent to continue (e.g. from a message property) instead of the active span. */
  parent?: string;
}

/** Runs `fn` in a new active span; records a thrown error on the span and rethrows it; always ends the span. */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T> | T,
  opts: WithSpanOptions = {},
): Promise<T> {
  const tracer = trace.getTracer(TRACER_NAME);
  let parentContext = context.active();
  const remote = opts.parent ? parseTraceparent(opts.parent) : undefined;
  if (remote) parentContext = trace.setSpanContext(parentContext, remote);
  return tracer.startActiveSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes, ...(opts.links ? { links: opts.links } : {}) },
    parentContext,
    async (span) => {
      try {
        return await fn(span);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        span.recordException(err);
        span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
        throw e;
      } finally {
        span.end();
      }
    },
  );
}

/** The processing span of one attempt: linked to the task's ingest span, tagged with task id, type and attempt. */
export function withTaskSpan<T>(
  name: string,
  task: { _id: string; type: string; attempts?: number; traceparent?: string },
  fn: (span: Span) => Promise<T> | T,
  extra: Attributes = {},
): Promise<T> {
  const link = task.traceparent ? linkFromTraceparent(task.traceparent) : undefined;
  return withSpan(
    name,
    {
      [spanAttributes.taskId]: task._id,
      [spanAttributes.taskType]: task.type,
      ...(task.attempts !== undefined ? { [spanAttributes.attempt]: task.attempts } : {}),
      ...extra,
    },
    fn,
    { kind: SpanKind.CONSUMER, ...(link ? { links: [link] } : {}) },
  );
}

/** The active span's context as a W3C traceparent, or undefined when there is no valid span. */
export function currentTraceparent(): string | undefined {
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && isSpanContextValid(sc) ? formatTraceparent(sc) : undefined;
}

export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/** Parses a W3C traceparent (version 00, or a later one read as 00); undefined when malformed. */
export function parseTraceparent(value: string): SpanContext | undefined {
  const m = TRACEPARENT.exec(value.trim());
  if (!m || m[1] === 'ff') return undefined;
  if (m[1] === '00' && value.trim().length !== 55) return undefined;
  const sc: SpanContext = {
    traceId: m[2]!,
    spanId: m[3]!,
    traceFlags: parseInt(m[4]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(sc) ? sc : undefined;
}

export function linkFromTraceparent(value: string, attributes?: Attributes): Link | undefined {
  const sc = parseTraceparent(value);
  return sc ? { context: sc, ...(attributes ? { attributes } : {}) } : undefined;
}
