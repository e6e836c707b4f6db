// The function app's storage account: host storage (AzureWebJobsStorage, identity-based), the
// Flex Consumption deployment container, and the storage queues the code uses (dispatch queue,
// ingest queue, and their poison queues).

@description('Storage account name (3-24 lowercase letters and digits, globally unique).')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object

@description('Blob container that holds the deployment package (Flex Consumption pulls the app from it).')
param deploymentContainerName string

@description('Storage queues to create (names as the code reads them from AzureStorage__* settings).')
param queueNames array

// The host, the deployment and the queue trigger use the managed identity. The code's own Storage
// Queue client (lib/queues/storage-queue, used to send dispatch wake-ups) only takes a connection
// string (AzureStorage:ConnectionString), which is kept in Key Vault; it needs shared-key access.
// Set this to false only once that client supports Entra ID.
@description('Allow shared-key (account key) authorization.')
param allowSharedKeyAccess bool = true

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: allowSharedKeyAccess
    defaultToOAuthAuthentication: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource queues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [
  for queueName in queueNames: {
    parent: queueService
    name: queueName
  }
]

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
