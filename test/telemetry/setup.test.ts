import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metrics } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { telemetryConfigFromEnv, TelemetryConfigError } from '../../lib/telemetry/config.js';
import { taskMetrics } from '../../lib/telemetry/metrics.js';
import { setupTelemetry } from '../../lib/telemetry/setup.js';
import { withSpan } from '../../lib/telemetry/tracing.js';

describe('telemetry configuration', () => {
  it('exports nothing by default, and nothing under vitest unless chosen explicitly', () => {
    expect(telemetryConfigFromEnv({}).exporter).toBe('none');
    expect(
      telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', VITEST: 'true' }).exporter,
    ).toBe('none');
    expect(telemetryConfigFromEnv({ Telemetry__Exporter: 'console', VITEST: 'true' }).exporter).toBe('console');
  });

  it('picks Azure Monitor when the connection string is set, else OTLP when its endpoint is set', () => {
    const cs = 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/';
    expect(
      telemetryConfigFromEnv({
        APPLICATIONINSIGHTS_CONNECTION_STRING: cs,
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:4318',
      }),
    ).toMatchObject({ exporter: 'azure-monitor', azureMonitorConnectionString: cs });
    expect(telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toMatchObject({
      exporter: 'otlp',
      otlpEndpoint: 'http://collector:4318',
    });
    expect(telemetryConfigFromEnv({ telemetry__exporter: 'OTLP' }).exporter).toBe('otlp');
    expect(telemetryConfigFromEnv({ Telemetry__MetricExportInterval: '15000' }).metricExportIntervalMs).toBe(15_000);
    expect(telemetryConfigFromEnv({}).serviceName).toBeUndefined();
    expect(telemetryConfigFromEnv({ OTEL_SERVICE_NAME: 'orders-worker' }).serviceName).toBe('orders-worker');
  });

  it('refuses bad settings without echoing secrets', () => {
    expect(() => telemetryConfigFromEnv({ Telemetry__Exporter: 'carrier-pigeon' })).toThrow(TelemetryConfigError);
    expect(() => telemetryConfigFromEnv({ Telemetry__Exporter: 'azure-monitor' })).toThrow(
      /APPLICATIONINSIGHTS_CONNECTION_STRING/,
    );
    expect(() => telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://secret-host' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT/,
    );
    try {
      telemetryConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url with hunter2' });
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
  });
});

describe('setupTelemetry', () => {
  it('with "none" installs no provider; shutdown is safe', async () => {
    const shutdown = await setupTelemetry({ exporter: 'none', metricExportIntervalMs: 60_000 });
    expect(metrics.getMeterProvider().constructor.name).toBe('NoopMeterProvider');
    await shutdown();
  });

  it('with "otlp" sends metrics and traces to the endpoint when shut down (flush)', async () => {
    const received: { path: string; type: string | undefined }[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      req.resume();
      req.on('end', () => {
        received.push({ path: req.url ?? '', type: req.headers['content-type'] });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const shutdown = await setupTelemetry({
        exporter: 'otlp',
        otlpEndpoint: `http://127.0.0.1:${port}/`,
        metricExportIntervalMs: 3_600_000,
      });
      taskMetrics.ingested(2, { 'task.type': 'echo' });
      await withSpan('otlp.test', {}, () => undefined);
      await shutdown();
      expect([...new Set(received.map((r) => r.path))].sort()).toEqual(['/v1/metrics', '/v1/traces']);
      // After shutdown the globals are gone again, so another setup (or a test) can install its own.
      expect(metrics.getMeterProvider().constructor.name).toBe('NoopMeterProvider');
    } finally {
      server.close();
    }
  });

  it('names the service on every span: "taskmesh" by default, OTEL_SERVICE_NAME when set', async () => {
    for (const [config, expected] of [
      [{}, 'taskmesh'],
      [{ serviceName: 'orders-worker' }, 'orders-worker'],
    ] as const) {
      const exporter = new InMemorySpanExporter();
      const shutdown = await setupTelemetry(
        { exporter: 'none', metricExportIntervalMs: 3_600_000, ...config },
        { spanProcessors: [new SimpleSpanProcessor(exporter)] },
      );
      await withSpan('named', {}, () => undefined);
      const [span] = exporter.getFinishedSpans();
      expect(span!.resource.attributes['service.name']).toBe(expected);
      expect(span!.resource.attributes['telemetry.sdk.language']).toBe('nodejs');
      await shutdown();
    }
  });

  it('builds the console and Azure Monitor exporters', async () => {
    const writes: string[] = [];
    const orig = console.dir;
    console.dir = (v: unknown) => void writes.push(JSON.stringify(v));
    try {
      const shutdown = await setupTelemetry({ exporter: 'console', metricExportIntervalMs: 3_600_000 });
      taskMetrics.claimed(1, { 'task.type': 'echo' });
      await shutdown();
      expect(writes.join('\n')).toContain('taskmesh.tasks.claimed');
    } finally {
      console.dir = orig;
    }
    // Constructing it validates the connection string; nothing is sent (the interval never fires, and no span is made).
    const shutdown = await setupTelemetry({
      exporter: 'azure-monitor',
      azureMonitorConnectionString:
        'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/',
      metricExportIntervalMs: 3_600_000,
    });
    expect(metrics.getMeterProvider().constructor.name).toBe('MeterProvider');
    await shutdown();
  });
});
