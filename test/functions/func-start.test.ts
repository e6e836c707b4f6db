/**
 * `func start` as shipped: with local.settings.example.json copied to local.settings.json, every
 * function the app registers resolves its `%Setting%`s and connections, and the Service Bus functions
 * stay off until their entity is configured. The registrations are read as the Functions host gets
 * them (the app loaded by a stand-in for the worker's core API), the settings from the file. Planted
 * mistakes (a misspelt setting, a missing connection, an entity set without its connection) fail.
 */
import { describe, expect, it } from 'vitest';
import {
  appRegistrations,
  catalogProblems,
  readLocalSettings,
  registrationProblems,
  type Registration,
} from '../support/func-settings.js';

const shipped = readLocalSettings();

describe('func start with local.settings.example.json as shipped', () => {
  let registrations: Registration[];

  it('registers the storage-queue processor, the timers and the admin API; the Service Bus functions stay off', async () => {
    registrations = await appRegistrations(shipped);
    expect(registrations.map((r) => r.name).sort()).toEqual([
      'admin',
      'processor-dispatch',
      'processor-sweep',
      'reclaimer',
    ]);
    expect(catalogProblems(registrations, shipped)).toEqual([]);
  });

  it("resolves every registered function's %Setting% and connection from the file", () => {
    expect(registrationProblems(registrations, shipped)).toEqual([]);
  });

  it('registers a Service Bus function once its entity and connection are set, and it resolves', async () => {
    const values = {
      ...shipped,
      AzureServiceBus: 'Endpoint=sb://127.0.0.1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true',
      AzureServiceBus__QueueName: 'orders',
    };
    const regs = await appRegistrations(values);
    expect(regs.map((r) => r.name)).toContain('ingest-servicebus-queue');
    expect(regs.map((r) => r.name)).not.toContain('ingest-servicebus-topic');
    expect(catalogProblems(regs, values)).toEqual([]);
    expect(registrationProblems(regs, values)).toEqual([]);
    // The entity without its connection: the host would refuse the trigger, and so does the check.
    expect(registrationProblems(regs, { ...values, AzureServiceBus: '' })).toEqual([
      'ingest-servicebus-queue: connection "AzureServiceBus" resolves to nothing (set AzureServiceBus, or AzureServiceBus__fullyQualifiedNamespace)',
    ]);
  });

  it('fails on planted mistakes: a misspelt setting, a missing connection, a registration the catalog does not expect', () => {
    const misspelt = registrations.map((r) =>
      r.name !== 'processor-dispatch'
        ? r
        : {
            ...r,
            bindings: Object.fromEntries(
              Object.entries(r.bindings).map(([k, b]) => [k, { ...b, queueName: '%AzureStorage__DispatchQueueNme%' }]),
            ),
          },
    );
    expect(registrationProblems(misspelt, shipped)).toEqual([
      'processor-dispatch: queueName reads %AzureStorage__DispatchQueueNme%, which is not set',
    ]);
    const withoutStorage = Object.fromEntries(Object.entries(shipped).filter(([k]) => k !== 'AzureWebJobsStorage'));
    expect(registrationProblems(registrations, withoutStorage)).toEqual([
      'processor-dispatch: connection "AzureWebJobsStorage" resolves to nothing (set AzureWebJobsStorage, or AzureWebJobsStorage__fullyQualifiedNamespace)',
      'processor-sweep: timers need AzureWebJobsStorage (schedule leases)',
      'reclaimer: timers need AzureWebJobsStorage (schedule leases)',
    ]);
    const alwaysOn: Registration[] = [
      ...registrations,
      {
        name: 'ingest-servicebus-topic',
        bindings: {
          t: { type: 'serviceBusTrigger', topicName: '%AzureServiceBus__TopicName%', connection: 'AzureServiceBus' },
        },
      },
    ];
    expect(catalogProblems(alwaysOn, shipped)).toEqual([
      'ingest-servicebus-topic is registered although AzureServiceBus__TopicName is not set',
    ]);
    expect(registrationProblems(alwaysOn, shipped)).toEqual([
      'ingest-servicebus-topic: topicName reads %AzureServiceBus__TopicName%, which is not set',
      'ingest-servicebus-topic: connection "AzureServiceBus" resolves to nothing (set AzureServiceBus, or AzureServiceBus__fullyQualifiedNamespace)',
    ]);
  });
});
