// Service Bus namespace with the ingest queue, a topic and the app's subscription to it.
// Standard tier: topics need it, and it supports entity partitioning (Premium partitions at the
// namespace level instead and rejects enablePartitioning on entities).

@description('Namespace name (6-50 letters, digits and hyphens, starting with a letter; globally unique).')
@minLength(6)
@maxLength(50)
param name string

param location string
param tags object

@description('Queue the ingest-servicebus-queue function reads (AzureServiceBus__QueueName).')
param queueName string

@description('Topic the ingest-servicebus-topic function reads (AzureServiceBus__TopicName).')
param topicName string

@description('Subscription of the topic the app reads (AzureServiceBus__SubscriptionName).')
param subscriptionName string

@description('Deliveries before Service Bus dead-letters a message (AzureServiceBus__MaxDeliveryCount).')
@minValue(1)
@maxValue(2000)
param maxDeliveryCount int

@description('Peek-lock duration (ISO 8601, at most PT5M). The trigger renews locks up to MaxAutoLockRenewalDuration.')
param lockDuration string = 'PT1M'

@description('Session-enabled queue and subscription (AzureServiceBus__RequiresSession). Fixed at creation.')
param requiresSession bool

@description('Partitioned queue and topic (AzureServiceBus__EnablePartitioning). Fixed at creation.')
param enablePartitioning bool

@description('Move expired messages to the dead-letter sub-queue instead of dropping them.')
param deadLetteringOnMessageExpiration bool = true

@description('Time to live of messages (ISO 8601).')
param defaultMessageTimeToLive string = 'P14D'

@description('Queue receiving tasks that fail for good (DeadLetter__Queue); created here. Empty: none.')
param deadLetterQueueName string = ''

@description('Entity the queue and subscription forward their dead letters to (created here as a queue if it is not deadLetterQueueName). Empty: each keeps its own dead-letter sub-queue.')
param forwardDeadLetteredMessagesTo string = ''

// SAS keys stay unusable: the app and the Functions host authenticate with the managed identity.
@description('Disable SAS (local) authentication on the namespace.')
param disableLocalAuth bool = true

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    minimumTlsVersion: '1.2'
    disableLocalAuth: disableLocalAuth
    publicNetworkAccess: 'Enabled'
  }
}

resource queue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = {
  parent: namespace
  name: queueName
  properties: {
    maxDeliveryCount: maxDeliveryCount
    lockDuration: lockDuration
    requiresSession: requiresSession
    enablePartitioning: enablePartitioning
    deadLetteringOnMessageExpiration: deadLetteringOnMessageExpiration
    defaultMessageTimeToLive: defaultMessageTimeToLive
    maxSizeInMegabytes: 1024
    forwardDeadLetteredMessagesTo: empty(forwardDeadLetteredMessagesTo) ? null : forwardDeadLetteredMessagesTo
  }
  dependsOn: [taskDeadLetterQueue, deadLetterCollector]
}

// Tasks that fail for good (lib/dead-letters): their reason, last error and original message; `taskctl dlq` replays them.
resource taskDeadLetterQueue 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = if (!empty(deadLetterQueueName)) {
  parent: namespace
  name: empty(deadLetterQueueName) ? 'unused-dead-letters' : deadLetterQueueName
  properties: {
    maxDeliveryCount: maxDeliveryCount
    lockDuration: lockDuration
    enablePartitioning: enablePartitioning
    defaultMessageTimeToLive: defaultMessageTimeToLive
    maxSizeInMegabytes: 1024
  }
}

// Where forwarded dead letters collect, unless that is the task dead-letter queue.
resource deadLetterCollector 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = if (!empty(forwardDeadLetteredMessagesTo) && forwardDeadLetteredMessagesTo != deadLetterQueueName) {
  parent: namespace
  name: empty(forwardDeadLetteredMessagesTo) ? 'unused-forwarded-dead-letters' : forwardDeadLetteredMessagesTo
  properties: {
    lockDuration: lockDuration
    enablePartitioning: enablePartitioning
    defaultMessageTimeToLive: defaultMessageTimeToLive
    maxSizeInMegabytes: 1024
  }
}

resource topic 'Microsoft.ServiceBus/namespaces/topics@2024-01-01' = {
  parent: namespace
  name: topicName
  properties: {
    enablePartitioning: enablePartitioning
    defaultMessageTimeToLive: defaultMessageTimeToLive
    maxSizeInMegabytes: 1024
  }
}

resource subscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2024-01-01' = {
  parent: topic
  name: subscriptionName
  properties: {
    maxDeliveryCount: maxDeliveryCount
    lockDuration: lockDuration
    requiresSession: requiresSession
    deadLetteringOnMessageExpiration: deadLetteringOnMessageExpiration
    deadLetteringOnFilterEvaluationExceptions: true
    defaultMessageTimeToLive: defaultMessageTimeToLive
    forwardDeadLetteredMessagesTo: empty(forwardDeadLetteredMessagesTo) ? null : forwardDeadLetteredMessagesTo
  }
  dependsOn: [taskDeadLetterQueue, deadLetterCollector]
}

output id string = namespace.id
output namespaceName string = namespace.name
// serviceBusEndpoint is "https://<name>.servicebus.windows.net:443/" (other suffixes in sovereign clouds).
output fullyQualifiedNamespace string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
output queueName string = queue.name
output topicName string = topic.name
output subscriptionName string = subscription.name
