import { context, metrics, trace } from '@opentelemetry/api';
import { defaultResource, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  ConsoleMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type IMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { silentLogger, type Logger } from '../log/logger.js';
import { AsyncLocalStorageContextManager } from './context-manager.js';
import type { TelemetryConfig } from './config.js';

export type TelemetryShutdown = () => Promise<void>;

export interface TelemetryExtras {
  /** More metric readers (tests pass an in-memory one). */
  metricReaders?: IMetricReader[];
  /** More span processors (tests pass a SimpleSpanProcessor over an InMemorySpanExporter). */
  spanProcessors?: SpanProcessor[];
  logger?: Logger;
}

interface Exporters {
  metrics: PushMetricExporter;
  spans: SpanExporter;
}

export const DEFAULT_SERVICE_NAME = 'taskmesh';

/**
 * What every metric and span says about its source: the SDK's defaults (SDK name, version, language)
 * with our service name instead of "unknown_service:node", so Application Insights and OTLP backends
 * show the service by name.
 */
export function telemetryResource(config: Pick<TelemetryConfig, 'serviceName'>): Resource {
  return defaultResource().merge(
    resourceFromAttributes({ 'service.name': config.serviceName ?? DEFAULT_SERVICE_NAME }),
  );
}

/** Loads the exporter packages only when chosen: the Azure one is large and irrelevant elsewhere. */
async function createExporters(config: TelemetryConfig): Promise<Exporters | undefined> {
  switch (config.exporter) {
    case 'none':
      return undefined;
    case 'console':
      return { metrics: new ConsoleMetricExporter(), spans: new ConsoleSpanExporter() };
    case 'otlp': {
      const [{ OTLPMetricExporter }, { OTLPTraceExporter }] = await Promise.all([
        import('@opentelemetry/exporter-metrics-otlp-http'),
        import('@opentelemetry/exporter-trace-otlp-http'),
      ]);
      const base = config.otlpEndpoint?.replace(/\/+$/, '');
      return {
        metrics: new OTLPMetricExporter(base ? { url: `${base}/v1/metrics` } : {}),
        spans: new OTLPTraceExporter(base ? { url: `${base}/v1/traces` } : {}),
      };
    }
    case 'azure-monitor': {
      const { AzureMonitorMetricExporter, AzureMonitorTraceExporter } =
        await import('@azure/monitor-opentelemetry-exporter');
      const connectionString = config.azureMonitorConnectionString;
      return {
        metrics: new AzureMonitorMetricExporter({ connectionString }),
        spans: new AzureMonitorTraceExporter({ connectionString }),
      };
    }
  }
}

/**
 * Installs the OpenTelemetry SDK for this process: a context manager (so spans nest across awaits),
 * then, when an exporter is configured (or extras are given), a MeterProvider and a TracerProvider as
 * the globals. Returns the function that flushes and shuts them down (call it before exit; a
 * serverless host should call it at the end of an invocation or on instance shutdown).
 */
export async function setupTelemetry(
  config: TelemetryConfig,
  extras: TelemetryExtras = {},
): Promise<TelemetryShutdown> {
  const logger = extras.logger ?? silentLogger;
  const contextManager = new AsyncLocalStorageContextManager();
  const ownsContext = context.setGlobalContextManager(contextManager);
  const exporters = await createExporters(config);
  const readers: IMetricReader[] = [...(extras.metricReaders ?? [])];
  const processors: SpanProcessor[] = [...(extras.spanProcessors ?? [])];
  if (exporters) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: exporters.metrics,
        exportIntervalMillis: config.metricExportIntervalMs,
      }),
    );
    processors.push(new BatchSpanProcessor(exporters.spans));
  }
  if (readers.length === 0 && processors.length === 0) {
    return async () => {
      if (ownsContext) context.disable();
    };
  }
  const resource = telemetryResource(config);
  const meterProvider = new MeterProvider({ readers, resource });
  const tracerProvider = new BasicTracerProvider({ spanProcessors: processors, resource });
  const ownsMetrics = metrics.setGlobalMeterProvider(meterProvider);
  const ownsTraces = trace.setGlobalTracerProvider(tracerProvider);
  if (!ownsMetrics || !ownsTraces)
    logger.warn('telemetry: a global OpenTelemetry provider was already registered; keeping it', {
      ownsMetrics,
      ownsTraces,
    });
  logger.info('telemetry enabled', {
    exporter: config.exporter,
    metricExportIntervalMs: config.metricExportIntervalMs,
    serviceName: resource.attributes['service.name'],
  });
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    // Shutting down exports what is pending, so the last interval's numbers and spans are not lost.
    await Promise.allSettled([meterProvider.shutdown(), tracerProvider.shutdown()]);
    if (ownsMetrics) metrics.disable();
    if (ownsTraces) trace.disable();
    if (ownsContext) context.disable();
  };
}
