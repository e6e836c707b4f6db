/**
 * Which entity the provider reads and sends to (a queue, or a topic and its subscription), from the
 * AzureServiceBus section, and creating it when it is missing (with the HTTPS management endpoint).
 */
import type { ServiceBusAdministrationClient } from '@azure/service-bus';
import { ConfigError } from '../../config/errors.js';
import type { AppConfig } from '../../config/load.js';
import type { Logger } from '../../log/logger.js';

export type ServiceBusSettings = AppConfig['AzureServiceBus'];

export interface EntityNames {
  queueName?: string;
  topicName?: string;
  subscriptionName?: string;
}

export interface Entity extends EntityNames {
  /** Where sends go: the queue or the topic. */
  sendTo: string;
  /** What is read: the queue or `<topic>/Subscriptions/<subscription>`. */
  path: string;
}

/**
 * The entity the settings name: QueueName wins over TopicName + SubscriptionName. Throws ConfigError
 * when there is none.
 */
export function entityOf(config: ServiceBusSettings): Entity {
  if (config.QueueName) return { queueName: config.QueueName, sendTo: config.QueueName, path: config.QueueName };
  if (config.TopicName && config.SubscriptionName) {
    return {
      topicName: config.TopicName,
      subscriptionName: config.SubscriptionName,
      sendTo: config.TopicName,
      path: `${config.TopicName}/Subscriptions/${config.SubscriptionName}`,
    };
  }
  throw new ConfigError([
    {
      key: 'AzureServiceBus:QueueName',
      envVar: 'AzureServiceBus__QueueName',
      given: '(nothing)',
      expected: 'a queue name, or TopicName and SubscriptionName',
      source: 'default',
    },
    ...(config.TopicName
      ? [
          {
            key: 'AzureServiceBus:SubscriptionName',
            envVar: 'AzureServiceBus__SubscriptionName',
            given: '(nothing)',
            expected: `a subscription of topic '${config.TopicName}'`,
            source: 'default' as const,
          },
        ]
      : []),
  ]);
}

export interface EntityProperties {
  maxDeliveryCount: number;
  requiresSession: boolean;
  enablePartitioning: boolean;
}

/** Creates the queue, or the topic and its subscription, where missing; existing ones are left as they are. */
export async function createMissingEntities(
  admin: ServiceBusAdministrationClient,
  entity: Entity,
  props: EntityProperties,
  log: Logger,
): Promise<void> {
  const { maxDeliveryCount, requiresSession, enablePartitioning } = props;
  if (entity.queueName) {
    if (!(await admin.queueExists(entity.queueName))) {
      await admin.createQueue(entity.queueName, { maxDeliveryCount, requiresSession, enablePartitioning });
      log.info('created queue', { queue: entity.queueName });
    }
    return;
  }
  const topic = entity.topicName!;
  const subscription = entity.subscriptionName!;
  if (!(await admin.topicExists(topic))) {
    await admin.createTopic(topic, { enablePartitioning });
    log.info('created topic', { topic });
  }
  if (!(await admin.subscriptionExists(topic, subscription))) {
    await admin.createSubscription(topic, subscription, { maxDeliveryCount, requiresSession });
    log.info('created subscription', { topic, subscription });
  }
}
