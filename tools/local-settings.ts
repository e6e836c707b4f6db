/**
 * Writes local.settings.example.json (Azure Functions Core Tools' settings file) from the config
 * sections: every setting the code reads, with its default (secrets left empty), plus the host's own
 * settings. `npx tsx tools/local-settings.ts --write`; a test keeps the file current.
 */
import { writeFileSync } from 'node:fs';
import { sections } from '../lib/config/sections/index.js';
import { formatDuration } from '../lib/config/duration.js';

const durationKey = /Interval|Timeout|Delay|After|Duration|WaitTime/;

export function localSettings(): { IsEncrypted: boolean; Values: Record<string, string> } {
  const values: Record<string, string> = {
    // The Functions host's own settings (not read by lib/config).
    FUNCTIONS_WORKER_RUNTIME: 'node',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    // The Service Bus trigger connection "AzureServiceBus": a connection string here, or on Azure
    // AzureServiceBus__fullyQualifiedNamespace with a managed identity.
    AzureServiceBus: '',
    MONGODB_URI: '',
  };
  for (const [name, section] of Object.entries(sections)) {
    const defaults = section.schema.safeParse({});
    const d = defaults.success ? (defaults.data as Record<string, unknown>) : {};
    for (const key of Object.keys(section.schema.shape)) {
      const v = d[key];
      const shown =
        typeof v === 'number' && durationKey.test(key) ? formatDuration(v) : Array.isArray(v) ? v.join(',') : String(v);
      values[`${name}__${key}`] = section.secrets.includes(key) || v === undefined ? '' : shown;
    }
  }
  return { IsEncrypted: false, Values: values };
}

export const render = () => `${JSON.stringify(localSettings(), null, 2)}\n`;

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.includes('--write')) writeFileSync('local.settings.example.json', render());
  else process.stdout.write(render());
}
