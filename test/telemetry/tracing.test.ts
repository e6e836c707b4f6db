import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log/logger.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { setupTelemetry, type TelemetryShutdown } from '../../lib/telemetry/setup.js';
import {
  currentTraceparent,
  formatTraceparent,
  parseTraceparent,
  spanAttributes,
  withSpan,
  withTaskSpan,
} from '../../lib/telemetry/tracing.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { z } from 'zod';
import { defineHandler, HandlerRegistry } from '../../lib/handlers/index.js';
import { runWorkerInvocation } from '../../lib/worker/index.js';
import { testConfig } from '../worker/helpers.js';

describe('traces: message receipt -> ingest -> processing', () => {
  let tdb: TestDb;
  let store: MongoTaskStore;
  const exporter = new InMemorySpanExporter();
  let shutdown: TelemetryShutdown;

  beforeAll(async () => {
    tdb = await openTestDb('tel_traces');
    store = new MongoTaskStore(tdb.db);
    shutdown = await setupTelemetry(
      { exporter: 'none', metricExportIntervalMs: 60_000 },
      { spanProcessors: [new SimpleSpanProcessor(exporter)] },
    );
  });
  afterAll(async () => {
    await shutdown();
    await tdb.drop();
  });

  it('the ingest span is stored in the task; the processing span links to it; children nest across awaits', async () => {
    const ingestTrace = await withSpan(
      'message.receive',
      { [spanAttributes.messageId]: 'm-1', [spanAttributes.queue]: 'tasks' },
      async (span) => {
        await new Promise((r) => setTimeout(r, 5));
        await withSpan('task.ingest', {}, async () => {
          await store.ingest([{ type: 'echo', source: { provider: 'fake', queue: 'tasks', messageId: 'm-1' } }]);
        });
        return span.spanContext();
      },
      { kind: SpanKind.CONSUMER },
    );

    const [claimed] = await store.claim('w1');
    const task = claimed!.task;
    const stored = parseTraceparent(task.traceparent!)!;
    expect(stored.traceId).toBe(ingestTrace.traceId);

    await withTaskSpan('task.process', task, async () => {
      await new Promise((r) => setTimeout(r, 1));
      await withSpan('handler.step', {}, () => undefined);
    });

    const spans = exporter.getFinishedSpans();
    const byName = (n: string) => spans.find((s) => s.name === n)!;
    const receive = byName('message.receive');
    const ingest = byName('task.ingest');
    const process = byName('task.process');
    const step = byName('handler.step');
    expect(ingest.parentSpanContext?.spanId).toBe(receive.spanContext().spanId);
    expect(stored.spanId).toBe(ingest.spanContext().spanId);
    expect(receive.attributes[spanAttributes.messageId]).toBe('m-1');
    expect(process.links).toHaveLength(1);
    expect(process.links[0]!.context.spanId).toBe(ingest.spanContext().spanId);
    expect(process.attributes).toMatchObject({
      [spanAttributes.taskId]: task._id,
      [spanAttributes.taskType]: 'echo',
      [spanAttributes.attempt]: 1,
    });
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(step.parentSpanContext?.spanId).toBe(process.spanContext().spanId);
  });

  it('the worker runs each attempt in a task.process span linked to the ingest span, with its outcome; handler spans nest in it', async () => {
    exporter.reset();
    await withSpan('task.ingest', {}, async () => {
      await store.ingest([
        { type: 'traced.ok', payload: {} },
        { type: 'traced.fail', payload: {}, maxRetries: 0 },
      ]);
    });
    const handlers = new HandlerRegistry([
      defineHandler({
        type: 'traced.ok',
        schema: z.object({}),
        run: async () => withSpan('handler.step', {}, () => 'done'),
      }),
      defineHandler({
        type: 'traced.fail',
        schema: z.object({}),
        run: async () => {
          throw new Error('handler broke');
        },
      }),
    ]);
    const summary = await runWorkerInvocation({
      store,
      handlers,
      settings: testConfig({ BatchSize: 4, TaskTimeout: 10_000 }).Worker,
      deadline: Date.now() + 60_000,
    });
    expect(summary.outcomes).toMatchObject({ succeeded: 1, failed: 1 });

    const spans = exporter.getFinishedSpans();
    const ingest = spans.find((x) => x.name === 'task.ingest')!;
    const processing = spans.filter((x) => x.name === 'task.process');
    expect(processing).toHaveLength(2);
    const ok = processing.find((x) => x.attributes[spanAttributes.taskType] === 'traced.ok')!;
    const failed = processing.find((x) => x.attributes[spanAttributes.taskType] === 'traced.fail')!;
    for (const p of [ok, failed]) {
      expect(p.kind).toBe(SpanKind.CONSUMER);
      expect(p.links[0]!.context.spanId).toBe(ingest.spanContext().spanId);
      expect(p.attributes).toMatchObject({ [spanAttributes.attempt]: 1, [spanAttributes.workerId]: summary.workerId });
    }
    expect(ok.attributes[spanAttributes.outcome]).toBe('succeeded');
    expect(ok.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(failed.attributes[spanAttributes.outcome]).toBe('failed');
    expect(failed.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'handler broke' });
    expect(spans.find((x) => x.name === 'handler.step')!.parentSpanContext?.spanId).toBe(ok.spanContext().spanId);
  });

  it('an explicit traceparent wins over nothing; a thrown error marks the span and is rethrown', async () => {
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await expect(
      withSpan(
        'failing',
        {},
        () => {
          throw new Error('nope');
        },
        { parent },
      ),
    ).rejects.toThrow('nope');
    const span = exporter.getFinishedSpans().find((s) => s.name === 'failing')!;
    expect(span.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.events.some((e) => e.name === 'exception')).toBe(true);
  });

  it('parses and formats W3C traceparents, refusing malformed ones', () => {
    const sc = parseTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')!;
    expect(formatTraceparent(sc)).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    for (const bad of [
      '',
      'garbage',
      '00-00000000000000000000000000000000-b7ad6b7169203331-01',
      'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra',
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
    expect(currentTraceparent()).toBeUndefined();
  });

  it('log lines inside a span carry its trace and span ids, plus task/worker/invocation ids', async () => {
    const lines: string[] = [];
    const logger = createLogger({ sink: (l) => lines.push(l) }).child({ workerId: 'w1', invocationId: 'inv-9' });
    await withSpan('logged', {}, () => logger.info('processing', { taskId: 't-1' }));
    logger.info('outside');
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const span = exporter.getFinishedSpans().find((s) => s.name === 'logged')!;
    expect(inside).toMatchObject({
      msg: 'processing',
      taskId: 't-1',
      workerId: 'w1',
      invocationId: 'inv-9',
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
    });
    expect(outside!.traceId).toBeUndefined();
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
