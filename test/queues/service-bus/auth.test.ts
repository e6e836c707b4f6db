/** Which credential the provider uses follows from the configuration; nothing here touches the network. */
import { DefaultAzureCredential, type AccessToken, type TokenCredential } from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../lib/config/errors.js';
import {
  createServiceBusClient,
  createServiceBusProvider,
  resolveServiceBusAuth,
} from '../../../lib/queues/service-bus/index.js';
import { serviceBusSettings } from './helpers.js';

const connectionString =
  'Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=c2VjcmV0LWtleQ==';

describe('Service Bus authentication selection', () => {
  it('uses SAS from the connection string when it is set (and it wins over a namespace)', async () => {
    const auth = resolveServiceBusAuth({
      ConnectionString: connectionString,
      FullyQualifiedNamespace: 'other.servicebus.windows.net',
    });
    expect(auth).toMatchObject({
      kind: 'connection-string',
      fullyQualifiedNamespace: 'contoso.servicebus.windows.net',
      developmentEmulator: false,
    });
    expect(auth.secrets).toEqual(['c2VjcmV0LWtleQ==']);
    const client = createServiceBusClient(auth);
    expect(client.fullyQualifiedNamespace).toBe('contoso.servicebus.windows.net');
    await client.close();
  });

  it('recognises a development-emulator connection string', () => {
    const auth = resolveServiceBusAuth({
      ConnectionString:
        'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true',
    });
    expect(auth).toMatchObject({ kind: 'connection-string', developmentEmulator: true });
  });

  it('uses the namespace with DefaultAzureCredential (role-based access) when there is no connection string', async () => {
    const auth = resolveServiceBusAuth({ FullyQualifiedNamespace: 'sb://contoso.servicebus.windows.net/' });
    expect(auth.kind).toBe('token-credential');
    if (auth.kind !== 'token-credential') throw new Error('unreachable');
    expect(auth.fullyQualifiedNamespace).toBe('contoso.servicebus.windows.net');
    expect(auth.credential).toBeInstanceOf(DefaultAzureCredential);
    expect(typeof auth.credential.getToken).toBe('function');
    expect(auth.secrets).toEqual([]);
    const client = createServiceBusClient(auth);
    expect(client.fullyQualifiedNamespace).toBe('contoso.servicebus.windows.net');
    await client.close();
  });

  it('takes a given TokenCredential instead of DefaultAzureCredential, and the provider builds on it without connecting', async () => {
    const calls: string[] = [];
    const credential: TokenCredential = {
      getToken: async (scopes): Promise<AccessToken> => {
        calls.push(String(scopes));
        return { token: 'jwt', expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const auth = resolveServiceBusAuth({ FullyQualifiedNamespace: 'contoso.servicebus.windows.net' }, credential);
    expect(auth).toMatchObject({ kind: 'token-credential', credential });
    const provider = createServiceBusProvider(
      serviceBusSettings({ FullyQualifiedNamespace: 'contoso.servicebus.windows.net', QueueName: 'tasks' }),
      { credential },
    );
    expect(provider.queueName).toBe('tasks');
    await provider.close();
    expect(calls).toEqual([]); // lazily connected: no token was asked for
  });

  it('names both settings in a typed error when neither is set', () => {
    let err: unknown;
    try {
      resolveServiceBusAuth({});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.key)).toEqual([
      'AzureServiceBus:ConnectionString',
      'AzureServiceBus:FullyQualifiedNamespace',
    ]);
    expect((err as Error).message).toMatch(/AzureServiceBus__FullyQualifiedNamespace/);
  });

  it('rejects a namespace that is not a host name, and a section naming no entity', () => {
    expect(() => resolveServiceBusAuth({ FullyQualifiedNamespace: 'not a host!' })).toThrow(ConfigError);
    expect(() => createServiceBusProvider(serviceBusSettings({ ConnectionString: connectionString }))).toThrow(
      /AzureServiceBus:QueueName/,
    );
    expect(() =>
      createServiceBusProvider(serviceBusSettings({ ConnectionString: connectionString, TopicName: 'events' })),
    ).toThrow(/AzureServiceBus:SubscriptionName/);
  });
});
