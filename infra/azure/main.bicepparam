// Example parameters for main.bicep. Values equal to the template defaults are spelled out so the
// file shows what can be tuned; remove what you do not change.
//
//   export TASKMESH_MONGODB_CONNECTION_STRING='mongodb+srv://user:password@cluster.example.net/?retryWrites=true&w=majority'
//   az deployment group create -g <rg> -f infra/azure/main.bicep -p infra/azure/main.bicepparam
using './main.bicep'

param baseName = 'taskmesh'
param tags = {
  application: 'taskmesh'
  environment: 'dev'
}

// Read from the environment at deployment time, so the secret never sits in this file.
param mongoDbConnectionString = readEnvironmentVariable('TASKMESH_MONGODB_CONNECTION_STRING')
param mongoDbDatabaseName = 'taskmesh'

param instanceMemoryMB = 2048
param maximumInstanceCount = 100

param serviceBusQueueName = 'tasks'
param serviceBusTopicName = 'task-events'
param serviceBusSubscriptionName = 'taskmesh'
param serviceBusMaxDeliveryCount = 10
param serviceBusLockDuration = 'PT1M'
param serviceBusRequiresSession = false
param orderingOnFailure = 'continue'
param serviceBusEnablePartitioning = true
// Failed tasks to a queue (replay with `taskctl dlq replay failed-tasks`); every dead letter forwarded to one queue.
param taskDeadLetterQueueName = ''
param serviceBusForwardDeadLetteredMessagesTo = ''

param storageQueueName = 'tasks'
param storageDispatchQueueName = 'tasks-dispatch'

// Alerts (modules/alerts.bicep): who is notified, and the thresholds (docs/deploy.md).
param alertEmailReceivers = []
param alertOldestTaskAgeMinutes = 15
param alertFailureRatePercent = 10

// Any setting the code reads can be tuned here (strings, `Section__Key`), e.g.:
param extraAppSettings = {
  Worker__BatchSize: '10'
}
