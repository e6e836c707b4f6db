import { z } from 'zod';

/** Where metrics and traces go. "none" (the default, and always in tests unless set explicitly) exports nothing. */
export const telemetryExporters = ['none', 'console', 'otlp', 'azure-monitor'] as const;
export type TelemetryExporter = (typeof telemetryExporters)[number];

export interface TelemetryConfig {
  exporter: TelemetryExporter;
  /** OTLP/HTTP base endpoint (…/v1/metrics and …/v1/traces are appended). */
  otlpEndpoint?: string;
  /** Application Insights connection string. Secret (holds the ingestion key): never logged. */
  azureMonitorConnectionString?: string;
  metricExportIntervalMs: number;
  /** The `service.name` resource attribute (Application Insights' cloud role name). Default "taskmesh". */
  serviceName?: string;
}

export class TelemetryConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TelemetryConfigError';
  }
}

const envSchema = z.object({
  exporter: z.enum(telemetryExporters).optional(),
  otlpEndpoint: z.url({ protocol: /^https?$/, message: 'an http(s):// URL' }).optional(),
  azureMonitorConnectionString: z.string().min(1).optional(),
  metricExportIntervalMs: z.coerce.number().int().min(1_000).max(3_600_000).default(60_000),
  serviceName: z.string().min(1).max(200).optional(),
});

/** Reads an env var by name, ignoring case and empty values (app settings arrive in any case). */
function read(env: Record<string, string | undefined>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(env))
    if (k.toLowerCase() === lower && v !== undefined && v.trim() !== '') return v.trim();
  return undefined;
}

/**
 * The telemetry settings from the environment:
 * - `Telemetry__Exporter` = none | console | otlp | azure-monitor (explicit choice);
 * - otherwise `APPLICATIONINSIGHTS_CONNECTION_STRING` (Azure) selects azure-monitor, then
 *   `OTEL_EXPORTER_OTLP_ENDPOINT` selects otlp, else none; under vitest nothing is auto-selected;
 * - `Telemetry__MetricExportInterval` or `OTEL_METRIC_EXPORT_INTERVAL`: milliseconds between metric exports;
 * - `OTEL_SERVICE_NAME`: the service name on every metric and span (default "taskmesh").
 */
export function telemetryConfigFromEnv(env: Record<string, string | undefined> = process.env): TelemetryConfig {
  const parsed = envSchema.safeParse({
    exporter: read(env, 'Telemetry__Exporter')?.toLowerCase(),
    otlpEndpoint: read(env, 'OTEL_EXPORTER_OTLP_ENDPOINT'),
    azureMonitorConnectionString: read(env, 'APPLICATIONINSIGHTS_CONNECTION_STRING'),
    metricExportIntervalMs: read(env, 'Telemetry__MetricExportInterval') ?? read(env, 'OTEL_METRIC_EXPORT_INTERVAL'),
    serviceName: read(env, 'OTEL_SERVICE_NAME'),
  });
  if (!parsed.success) {
    // Name the setting, never echo the value (the connection string is a secret).
    const problems = parsed.error.issues.map((i) => `${settingFor(String(i.path[0]))}: ${i.message}`);
    throw new TelemetryConfigError(`Invalid telemetry settings: ${problems.join('; ')}`);
  }
  const v = parsed.data;
  const inTests = read(env, 'VITEST') !== undefined;
  const exporter: TelemetryExporter =
    v.exporter ??
    (inTests ? 'none' : v.azureMonitorConnectionString ? 'azure-monitor' : v.otlpEndpoint ? 'otlp' : 'none');
  if (exporter === 'azure-monitor' && !v.azureMonitorConnectionString) {
    throw new TelemetryConfigError('Telemetry__Exporter=azure-monitor needs APPLICATIONINSIGHTS_CONNECTION_STRING');
  }
  return {
    exporter,
    ...(v.otlpEndpoint ? { otlpEndpoint: v.otlpEndpoint } : {}),
    ...(v.azureMonitorConnectionString ? { azureMonitorConnectionString: v.azureMonitorConnectionString } : {}),
    metricExportIntervalMs: v.metricExportIntervalMs,
    ...(v.serviceName ? { serviceName: v.serviceName } : {}),
  };
}

function settingFor(key: string): string {
  return (
    (
      {
        exporter: 'Telemetry__Exporter',
        otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
        azureMonitorConnectionString: 'APPLICATIONINSIGHTS_CONNECTION_STRING',
        metricExportIntervalMs: 'Telemetry__MetricExportInterval',
        serviceName: 'OTEL_SERVICE_NAME',
      } as Record<string, string>
    )[key] ?? key
  );
}
