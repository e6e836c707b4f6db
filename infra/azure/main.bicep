// taskmesh on Azure Functions (Flex Consumption, Node.js 20), deployed into one resource group:
//
//   az deployment group create -g <rg> -f infra/azure/main.bicep -p infra/azure/main.bicepparam
//
// What it creates and how to publish the code: docs/deploy.md. The app settings below set every
// setting the code reads (lib/config, `settingNames()`); test/infra keeps them in step with the code.
targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------
// Naming and placement
// ---------------------------------------------------------------------------------------------

@description('Short name the resource names derive from (lowercase letters, digits, hyphens).')
@minLength(3)
@maxLength(12)
param baseName string = 'taskmesh'

@description('Region of every resource.')
param location string = resourceGroup().location

@description('Tags of every resource.')
param tags object = {
  application: 'taskmesh'
}

// ---------------------------------------------------------------------------------------------
// Function app (Flex Consumption)
// ---------------------------------------------------------------------------------------------

@description('Memory of each instance in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Upper bound of the scale-out.')
@maxValue(1000)
param maximumInstanceCount int = 100

// ---------------------------------------------------------------------------------------------
// MongoDB (the task store)
// ---------------------------------------------------------------------------------------------

@secure()
@description('MongoDB connection string (mongodb:// or mongodb+srv://). Stored in Key Vault; app settings hold a reference.')
param mongoDbConnectionString string

@description('Database holding the tasks (MongoDB__DatabaseName).')
param mongoDbDatabaseName string = 'taskmesh'

// ---------------------------------------------------------------------------------------------
// Service Bus (ingest)
// ---------------------------------------------------------------------------------------------

@description('Queue the ingest-servicebus-queue function reads (AzureServiceBus__QueueName).')
param serviceBusQueueName string = 'tasks'

@description('Topic the ingest-servicebus-topic function reads (AzureServiceBus__TopicName).')
param serviceBusTopicName string = 'task-events'

@description('Subscription of that topic (AzureServiceBus__SubscriptionName).')
param serviceBusSubscriptionName string = 'taskmesh'

@description('Deliveries before Service Bus dead-letters a message (AzureServiceBus__MaxDeliveryCount; code default 10).')
@minValue(1)
@maxValue(2000)
param serviceBusMaxDeliveryCount int = 10

@description('Peek-lock duration of the queue and subscription (ISO 8601, at most PT5M).')
param serviceBusLockDuration string = 'PT1M'

@description('Session-enabled queue and subscription (AzureServiceBus__RequiresSession; code default false). Fixed at creation.')
param serviceBusRequiresSession bool = false

@description('What a task of an ordering key (a session id) that fails for good does to its key (Ordering__OnFailure; code default continue).')
@allowed(['continue', 'block'])
param orderingOnFailure string = 'continue'

@description('Partitioned queue and topic (AzureServiceBus__EnablePartitioning; code default true). Fixed at creation.')
param serviceBusEnablePartitioning bool = true

@description('Queue that receives tasks ending Error or Timeout after their last attempt, with reason, last error and original message (DeadLetter__Queue; created in the namespace; `taskctl dlq` replays it). Empty: off.')
param taskDeadLetterQueueName string = ''

@description('Entity the ingest queue and subscription forward their dead letters to (forwardDeadLetteredMessagesTo; created as a queue unless it is taskDeadLetterQueueName), to watch one queue for every refused or poisoned message. Empty: each keeps its own dead-letter sub-queue.')
param serviceBusForwardDeadLetteredMessagesTo string = ''

@description('Dead-letter messages whose time to live expired.')
param serviceBusDeadLetteringOnMessageExpiration bool = true

@description('Messages handled at once per instance (AzureServiceBus__MaxConcurrentCalls and host.json maxConcurrentCalls).')
param serviceBusMaxConcurrentCalls int = 100

@description('Messages prefetched (AzureServiceBus__PrefetchCount and host.json prefetchCount).')
param serviceBusPrefetchCount int = 50

@description('How long message locks are renewed ("hh:mm:ss"; AzureServiceBus__MaxAutoLockRenewalDuration and host.json).')
param serviceBusMaxAutoLockRenewalDuration string = '00:05:00'

// ---------------------------------------------------------------------------------------------
// Storage queues
// ---------------------------------------------------------------------------------------------

@description('Storage queue ingest reads when Ingest__Provider is storage-queue (AzureStorage__QueueName).')
param storageQueueName string = 'tasks'

@description('Storage queue of the dispatch wake-ups; the processor-dispatch function triggers on it (AzureStorage__DispatchQueueName).')
param storageDispatchQueueName string = 'tasks-dispatch'

@description('Suffix of the poison queues, as the Functions host names them (AzureStorage__PoisonQueueSuffix).')
param storagePoisonQueueSuffix string = '-poison'

@description('How queue messages are written (AzureStorage__MessageEncoding); the queue trigger is set to match.')
@allowed([
  'base64'
  'text'
])
param storageMessageEncoding string = 'base64'

@description('Allow shared-key authorization on the storage account (the code\'s Storage Queue client needs it; see modules/storage.bicep).')
param storageAllowSharedKeyAccess bool = true

// ---------------------------------------------------------------------------------------------
// Ingest
// ---------------------------------------------------------------------------------------------

@description('Deliveries of a storage queue message before it moves to <queue>-poison (Ingest__MaxDeliveryCount and host.json queues.maxDequeueCount).')
@minValue(1)
@maxValue(1000)
param ingestMaxDeliveryCount int = 5

// ---------------------------------------------------------------------------------------------
// Monitoring, Key Vault, overrides
// ---------------------------------------------------------------------------------------------

@description('Days Log Analytics keeps logs.')
param logRetentionInDays int = 30

@description('Disable instrumentation-key ingestion on Application Insights (the app\'s own exporter then sends nothing; see modules/monitoring.bicep).')
param appInsightsDisableLocalAuth bool = false

@description('Enable Key Vault purge protection (cannot be turned off later).')
param keyVaultEnablePurgeProtection bool = false

@description('App settings merged last, e.g. { "Worker__BatchSize": "20" }. Secrets do not belong here: add them to Key Vault and reference them.')
param extraAppSettings object = {}

// ---------------------------------------------------------------------------------------------
// Alerts and the workbook (modules/alerts.bicep; thresholds explained in docs/deploy.md)
// ---------------------------------------------------------------------------------------------

@description('Create the Azure Monitor alert rules and the operations workbook.')
param monitoringAlertsEnabled bool = true

@description('Resource id of an existing action group the alerts notify. Empty: one is created for alertEmailReceivers (none when that is empty too: the alerts then only show in the portal).')
param alertActionGroupId string = ''

@description('E-mail addresses notified by the action group created when alertActionGroupId is empty.')
param alertEmailReceivers array = []

@description('Dead-lettered messages waiting above which the dead-letter alerts fire.')
@minValue(0)
param alertDeadLetterThreshold int = 0

@description('Minutes the oldest runnable task may wait before the backlog alert fires.')
@minValue(1)
param alertOldestTaskAgeMinutes int = 15

@description('Percentage of failed task attempts in the window above which the failure-rate alert fires.')
@minValue(0)
@maxValue(100)
param alertFailureRatePercent int = 10

@description('Finished attempts in the window below which the failure rate is not judged.')
@minValue(1)
param alertFailureRateMinAttempts int = 20

@description('Stalled tasks reclaimed in the window above which the reclaim alert fires.')
@minValue(0)
param alertReclaimedThreshold int = 0

@description('Failed function invocations in the window above which the function-failure alert fires.')
@minValue(0)
param alertFunctionFailuresThreshold int = 0

@description('Window the log-based alerts look back over (ISO 8601).')
param alertWindow string = 'PT15M'

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

var suffix = take(uniqueString(subscription().id, resourceGroup().id, baseName), 6)
var compactName = replace(toLower(baseName), '-', '')
var names = {
  identity: 'id-${baseName}-${suffix}'
  workspace: 'log-${baseName}-${suffix}'
  appInsights: 'appi-${baseName}-${suffix}'
  storage: take('st${compactName}${suffix}', 24)
  serviceBus: 'sb-${baseName}-${suffix}'
  keyVault: take('kv-${baseName}-${suffix}', 24)
  plan: 'plan-${baseName}-${suffix}'
  functionApp: 'func-${baseName}-${suffix}'
}
var deploymentContainerName = 'app-package-${suffix}'

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

module identity 'modules/identity.bicep' = {
  name: 'taskmesh-identity'
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'taskmesh-monitoring'
  params: {
    workspaceName: names.workspace
    appInsightsName: names.appInsights
    location: location
    tags: tags
    retentionInDays: logRetentionInDays
    disableLocalAuth: appInsightsDisableLocalAuth
  }
}

module storage 'modules/storage.bicep' = {
  name: 'taskmesh-storage'
  params: {
    name: names.storage
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    allowSharedKeyAccess: storageAllowSharedKeyAccess
    // The host creates poison queues on demand; declaring them keeps them visible and lets the
    // identity-based host work with only data-plane roles.
    queueNames: [
      storageDispatchQueueName
      '${storageDispatchQueueName}${storagePoisonQueueSuffix}'
      storageQueueName
      '${storageQueueName}${storagePoisonQueueSuffix}'
    ]
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'taskmesh-servicebus'
  params: {
    name: names.serviceBus
    location: location
    tags: tags
    queueName: serviceBusQueueName
    topicName: serviceBusTopicName
    subscriptionName: serviceBusSubscriptionName
    maxDeliveryCount: serviceBusMaxDeliveryCount
    lockDuration: serviceBusLockDuration
    requiresSession: serviceBusRequiresSession
    enablePartitioning: serviceBusEnablePartitioning
    deadLetteringOnMessageExpiration: serviceBusDeadLetteringOnMessageExpiration
    deadLetterQueueName: taskDeadLetterQueueName
    forwardDeadLetteredMessagesTo: serviceBusForwardDeadLetteredMessagesTo
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'taskmesh-keyvault'
  params: {
    name: names.keyVault
    location: location
    tags: tags
    mongoDbConnectionString: mongoDbConnectionString
    storageAccountName: storage.outputs.name
    enablePurgeProtection: keyVaultEnablePurgeProtection
  }
}

module roles 'modules/roles.bicep' = {
  name: 'taskmesh-roles'
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.namespaceName
    keyVaultName: keyVault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

// ---------------------------------------------------------------------------------------------
// App settings
// ---------------------------------------------------------------------------------------------

// Host and platform settings (not read by lib/config).
var platformSettings = {
  // Host storage through the managed identity: no account key.
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  // The Service Bus triggers use the connection named "AzureServiceBus". Its namespace is
  // AzureServiceBus__FullyQualifiedNamespace below, the same key the code reads for RBAC (app settings
  // and host configuration are case-insensitive, so one setting serves both).
  AzureServiceBus__credential: 'managedidentity'
  AzureServiceBus__clientId: identity.outputs.clientId
  // DefaultAzureCredential in the code picks the user-assigned identity through this variable.
  AZURE_CLIENT_ID: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  // The host sends its telemetry with Entra ID (Monitoring Metrics Publisher role).
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  // host.json values the code also reads: bound to the same parameters, so the host and the code
  // cannot disagree (these override host.json).
  AzureFunctionsJobHost__extensions__serviceBus__maxConcurrentCalls: string(serviceBusMaxConcurrentCalls)
  AzureFunctionsJobHost__extensions__serviceBus__prefetchCount: string(serviceBusPrefetchCount)
  AzureFunctionsJobHost__extensions__serviceBus__maxAutoLockRenewalDuration: serviceBusMaxAutoLockRenewalDuration
  AzureFunctionsJobHost__extensions__queues__maxDequeueCount: string(ingestMaxDeliveryCount)
  AzureFunctionsJobHost__extensions__queues__messageEncoding: storageMessageEncoding == 'text' ? 'none' : 'base64'
}

// The queue providers this deployment runs (registered in lib/config/sections/queue-providers.ts):
// Service Bus is ingested (Ingest__Provider), Storage queues carry the dispatch wake-ups. The settings
// of these providers are set below, those of other providers are not (test/infra checks both).
var queueProviders = [
  'service-bus'
  'storage-queue'
]

// Every setting lib/config reads (`settingNames()`) but those of queue providers this deployment does
// not run, as `Section__Key`. Secrets are Key Vault references or empty. Values are strings: app settings are environment variables. Note that an empty
// value only means "not set" for optional text settings; numbers, durations and booleans must be
// given a valid value.
var taskmeshSettings = {
  // MongoDB
  MongoDB__ConnectionString: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.mongoDbConnectionStringSecretUri})'
  MongoDB__DatabaseName: mongoDbDatabaseName

  // Worker (processBatch in the processor functions)
  Worker__BatchSize: '10'
  Worker__PollingInterval: '00:00:10'
  Worker__HeartbeatInterval: '00:00:30'
  Worker__MaxRetries: '3'
  Worker__HeartbeatTimeout: '00:05:00'
  Worker__Concurrency: '10' // no code default (falls back to BatchSize); an empty value would be rejected
  Worker__RetryBaseDelay: '00:00:05'
  Worker__RetryMaxDelay: '01:00:00'
  Worker__TaskTimeout: '00:05:00' // below host.json functionTimeout: processors only claim tasks that fit before their deadline
  Worker__ShutdownTimeout: '00:00:25'
  Worker__StateDirectory: '' // serverless: the worker id comes from WEBSITE_INSTANCE_ID

  // Retention (reclaimer)
  Retention__ArchiveAfter: '7.00:00:00'
  Retention__DeleteAfter: '30.00:00:00'
  Retention__PurgeAfter: '7.00:00:00'
  Retention__ForgetKeysAfter: '30.00:00:00'

  // Ordering: a failed task of an ordering key (session id) blocks its key, or the key goes on.
  Ordering__OnFailure: orderingOnFailure

  // DeadLetter: failed tasks to a Service Bus queue of the namespace (Ingest__Provider), or off.
  DeadLetter__Queue: taskDeadLetterQueueName
  DeadLetter__ClaimTimeout: '00:05:00'
  DeadLetter__SweepWindow: '1.00:00:00'

  // AzureServiceBus: role-based access through the managed identity, no connection string.
  AzureServiceBus__ConnectionString: ''
  AzureServiceBus__FullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
  AzureServiceBus__QueueName: serviceBusQueueName
  AzureServiceBus__TopicName: serviceBusTopicName
  AzureServiceBus__SubscriptionName: serviceBusSubscriptionName
  AzureServiceBus__MaxConcurrentCalls: string(serviceBusMaxConcurrentCalls)
  AzureServiceBus__PrefetchCount: string(serviceBusPrefetchCount)
  AzureServiceBus__MaxAutoLockRenewalDuration: serviceBusMaxAutoLockRenewalDuration
  AzureServiceBus__EnablePartitioning: serviceBusEnablePartitioning ? 'true' : 'false'
  AzureServiceBus__MaxDeliveryCount: string(serviceBusMaxDeliveryCount)
  AzureServiceBus__RequiresSession: serviceBusRequiresSession ? 'true' : 'false'

  // Admin: on Azure the Functions host checks function keys; the app-level key stays unset.
  Admin__ApiKey: ''

  // AzureStorage: the connection string (for the code's Storage Queue client) lives in Key Vault.
  AzureStorage__ConnectionString: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.storageConnectionStringSecretUri})'
  AzureStorage__QueueName: storageQueueName
  AzureStorage__DispatchQueueName: storageDispatchQueueName
  AzureStorage__PoisonQueueSuffix: storagePoisonQueueSuffix
  AzureStorage__MessageEncoding: storageMessageEncoding
  AzureStorage__MaxPollingInterval: '00:00:02'

  // Ingest: pushed by the Service Bus triggers.
  Ingest__Provider: 'service-bus'
  Ingest__BatchSize: '16'
  Ingest__Concurrency: '8'
  Ingest__MessageTimeout: '00:05:00'
  Ingest__VisibilityTimeout: '00:05:30' // no code default (MessageTimeout + 30s); an empty value would be rejected
  Ingest__ReceiveWaitTime: '10000'
  Ingest__MaxBodyBytes: '65536'
  Ingest__MaxDeliveryCount: string(ingestMaxDeliveryCount)
  Ingest__RetryAttempts: '3'
  Ingest__RetryBaseDelay: '00:00:01'
  Ingest__RetryMaxDelay: '00:05:00'
  Ingest__DefaultTaskType: ''
  Ingest__TaskTypeProperty: 'taskType'

  // Handlers: the deployment package carries dist/handlers (the application's handler module); the code's defaults.
  Handlers__Module: ''
  Handlers__BuiltIns: 'true'
  Handlers__Isolation: 'inline'
  Handlers__PoolSize: ''
  Handlers__MemoryLimit: ''
  Handlers__AllowUnknownTypes: 'false'
  Handlers__ExtraTypes: ''

  // FunctionCompute: not used on Azure; the code's defaults.
  FunctionCompute__ProcessorFunctionName: 'processor'
  FunctionCompute__Endpoint: ''
  FunctionCompute__FanOut: '4'
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'taskmesh-functionapp'
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    identityId: identity.outputs.id
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: union(platformSettings, taskmeshSettings, extraAppSettings)
  }
  // The host reads its storage and Key Vault references with the identity's roles on first start.
  dependsOn: [
    roles
  ]
}

module alerts 'modules/alerts.bicep' = if (monitoringAlertsEnabled) {
  name: 'taskmesh-alerts'
  params: {
    location: location
    tags: tags
    namePrefix: baseName
    appInsightsId: monitoring.outputs.appInsightsId
    serviceBusNamespaceId: serviceBus.outputs.id
    functionAppName: functionApp.outputs.name
    actionGroupId: alertActionGroupId
    emailReceivers: alertEmailReceivers
    deadLetterThreshold: alertDeadLetterThreshold
    oldestTaskAgeMinutes: alertOldestTaskAgeMinutes
    failureRatePercent: alertFailureRatePercent
    failureRateMinAttempts: alertFailureRateMinAttempts
    reclaimedThreshold: alertReclaimedThreshold
    functionFailuresThreshold: alertFunctionFailuresThreshold
    window: alertWindow
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------------

output functionAppName string = functionApp.outputs.name
output functionAppDefaultHostName string = functionApp.outputs.defaultHostName
output managedIdentityClientId string = identity.outputs.clientId
output serviceBusNamespace string = serviceBus.outputs.namespaceName
output serviceBusFullyQualifiedNamespace string = serviceBus.outputs.fullyQualifiedNamespace
output serviceBusQueueName string = serviceBus.outputs.queueName
output serviceBusTopicName string = serviceBus.outputs.topicName
output serviceBusSubscriptionName string = serviceBus.outputs.subscriptionName
output storageAccountName string = storage.outputs.name
output storageDispatchQueueName string = storageDispatchQueueName
output storageQueueName string = storageQueueName
output queueProviders array = queueProviders
output deploymentContainerName string = deploymentContainerName
output appInsightsName string = monitoring.outputs.appInsightsName
output appInsightsConnectionStringSetting string = 'APPLICATIONINSIGHTS_CONNECTION_STRING'
output keyVaultName string = keyVault.outputs.name
output workbookId string = monitoringAlertsEnabled ? alerts.outputs.workbookId : ''
