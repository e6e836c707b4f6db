export { loadConfig, settingNames, type AppConfig, type LoadConfigOptions, type SectionName } from './load.js';
export { ConfigError, type ConfigProblem } from './errors.js';
export { parseDuration, formatDuration } from './duration.js';
export { redactConnectionString, redactDeep, redactSecretValue } from './redact.js';
export { sections } from './sections/index.js';
