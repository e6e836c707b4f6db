export {
  taskMetrics,
  taskAttributes,
  observeQueues,
  useMeterProvider,
  healthWithin,
  metricNames,
  METER_NAME,
  type ObserveQueuesOptions,
} from './metrics.js';
export {
  withSpan,
  withTaskSpan,
  currentTraceparent,
  formatTraceparent,
  parseTraceparent,
  linkFromTraceparent,
  spanAttributes,
  TRACER_NAME,
  type WithSpanOptions,
} from './tracing.js';
export { setupTelemetry, type TelemetryShutdown, type TelemetryExtras } from './setup.js';
export {
  telemetryConfigFromEnv,
  telemetryExporters,
  TelemetryConfigError,
  type TelemetryConfig,
  type TelemetryExporter,
} from './config.js';
export { AsyncLocalStorageContextManager } from './context-manager.js';
