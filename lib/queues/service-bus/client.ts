/**
 * How the provider authenticates to Service Bus, decided by the configuration alone:
 *
 * 1. `AzureServiceBus:ConnectionString` set: shared access signature (SAS) from the connection string.
 *    A connection string with `UseDevelopmentEmulator=true` talks plain AMQP/TCP to its host and port
 *    (the local emulator or the test peer).
 * 2. Otherwise `AzureServiceBus:FullyQualifiedNamespace` set: role-based access (Azure RBAC, "Azure
 *    Service Bus Data Sender/Receiver" roles) with `DefaultAzureCredential` from `@azure/identity`
 *    (managed identity, workload identity, environment, Azure CLI, ...), or the credential passed in.
 * 3. Neither: a `ConfigError` naming both settings.
 *
 * Nothing here touches the network: clients connect lazily on first use.
 */
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import {
  ServiceBusAdministrationClient,
  ServiceBusClient,
  parseServiceBusConnectionString,
  type ServiceBusClientOptions,
} from '@azure/service-bus';
import { ConfigError } from '../../config/errors.js';
import { redactSecretValue } from '../../config/redact.js';

export type ServiceBusAuth =
  | {
      kind: 'connection-string';
      connectionString: string;
      fullyQualifiedNamespace: string;
      /** `UseDevelopmentEmulator=true`: plain TCP, and no HTTPS management (ATOM) endpoint. */
      developmentEmulator: boolean;
      /** Secret values in the connection string, scrubbed from every error message. */
      secrets: string[];
    }
  | { kind: 'token-credential'; fullyQualifiedNamespace: string; credential: TokenCredential; secrets: string[] };

export interface ServiceBusAuthSettings {
  ConnectionString?: string;
  FullyQualifiedNamespace?: string;
}

/** Picks the authentication from the settings (see the module comment). Throws ConfigError when neither is usable. */
export function resolveServiceBusAuth(settings: ServiceBusAuthSettings, credential?: TokenCredential): ServiceBusAuth {
  const connectionString = settings.ConnectionString?.trim();
  if (connectionString) {
    let parsed: ReturnType<typeof parseServiceBusConnectionString>;
    try {
      parsed = parseServiceBusConnectionString(connectionString);
    } catch {
      throw configProblem(
        'ConnectionString',
        redactSecretValue(connectionString),
        'a Service Bus connection string (Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...)',
      );
    }
    if (!parsed.sharedAccessKey && !parsed.sharedAccessSignature) {
      throw configProblem(
        'ConnectionString',
        redactSecretValue(connectionString),
        'a connection string with SharedAccessKeyName/SharedAccessKey or SharedAccessSignature',
      );
    }
    return {
      kind: 'connection-string',
      connectionString,
      fullyQualifiedNamespace: parsed.fullyQualifiedNamespace,
      developmentEmulator: /(?:^|;)\s*UseDevelopmentEmulator\s*=\s*true\s*(?:;|$)/i.test(connectionString),
      secrets: [parsed.sharedAccessKey, parsed.sharedAccessSignature].filter((s): s is string => Boolean(s)),
    };
  }
  const namespace = settings.FullyQualifiedNamespace?.trim();
  if (namespace) {
    const host = namespaceHost(namespace);
    if (!host)
      throw configProblem(
        'FullyQualifiedNamespace',
        JSON.stringify(namespace),
        'a host name such as mynamespace.servicebus.windows.net',
      );
    return {
      kind: 'token-credential',
      fullyQualifiedNamespace: host,
      credential: credential ?? new DefaultAzureCredential(),
      secrets: [],
    };
  }
  throw new ConfigError([
    {
      key: 'AzureServiceBus:ConnectionString',
      envVar: 'AzureServiceBus__ConnectionString',
      given: '(nothing)',
      expected: 'a Service Bus connection string, or AzureServiceBus:FullyQualifiedNamespace for role-based access',
      source: 'default',
    },
    {
      key: 'AzureServiceBus:FullyQualifiedNamespace',
      envVar: 'AzureServiceBus__FullyQualifiedNamespace',
      given: '(nothing)',
      expected:
        'e.g. mynamespace.servicebus.windows.net (used with DefaultAzureCredential when ConnectionString is unset)',
      source: 'default',
    },
  ]);
}

export function createServiceBusClient(auth: ServiceBusAuth, options: ServiceBusClientOptions = {}): ServiceBusClient {
  return auth.kind === 'connection-string'
    ? new ServiceBusClient(auth.connectionString, options)
    : new ServiceBusClient(auth.fullyQualifiedNamespace, auth.credential, options);
}

/** The HTTPS (ATOM) management client, or undefined where there is none (the development emulator). */
export function createAdministrationClient(auth: ServiceBusAuth): ServiceBusAdministrationClient | undefined {
  if (auth.kind === 'token-credential')
    return new ServiceBusAdministrationClient(auth.fullyQualifiedNamespace, auth.credential);
  return auth.developmentEmulator ? undefined : new ServiceBusAdministrationClient(auth.connectionString);
}

/** Accepts "ns.servicebus.windows.net", "sb://ns.servicebus.windows.net/" or an https URL; returns the host. */
function namespaceHost(value: string): string | undefined {
  const host = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? safeHost(value) : value.replace(/\/+$/, '');
  return host && /^[a-z0-9.-]+(?::\d+)?$/i.test(host) ? host : undefined;
}

function safeHost(url: string): string | undefined {
  try {
    return new URL(url).host || undefined;
  } catch {
    return undefined;
  }
}

function configProblem(
  key: 'ConnectionString' | 'FullyQualifiedNamespace',
  given: string,
  expected: string,
): ConfigError {
  return new ConfigError([
    { key: `AzureServiceBus:${key}`, envVar: `AzureServiceBus__${key}`, given, expected, source: 'default' },
  ]);
}
