/**
 * Settings each template deliberately sets to something else than the code's default, and why. The
 * value checks compare against these lists exactly: a default changed in the code, or a template
 * value changed, shows up as drift.
 */
export const azureIntended: Record<string, string> = {
  AzureServiceBus__QueueName: 'no code default: the queue the template creates',
  AzureServiceBus__TopicName: 'no code default: the topic the template creates',
  AzureServiceBus__SubscriptionName: 'no code default: the subscription the template creates',
  Ingest__Provider: 'Azure ingests from Service Bus',
  Ingest__VisibilityTimeout:
    'no code default (MessageTimeout + 30 s); an empty value is rejected, so it is spelled out',
  Worker__Concurrency: 'no code default (BatchSize); an empty value is rejected, so it is spelled out',
};

export const aliyunIntended: Record<string, string> = {
  Ingest__Provider: 'Function Compute ingests from MNS',
  Ingest__VisibilityTimeout: "no code default (MessageTimeout + 30 s); bound to the queue's visibility timeout",
  Worker__Concurrency: 'no code default (BatchSize); an empty value is rejected, so it is spelled out',
};

export const kubernetesIntended: Record<string, string> = {
  Ingest__VisibilityTimeout:
    'no code default (MessageTimeout + 30 s); an empty value is rejected, so it is spelled out',
  Worker__Concurrency: 'no code default (BatchSize); an empty value is rejected, so it is spelled out',
};
