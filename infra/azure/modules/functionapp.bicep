// Flex Consumption plan (FC1) and the Node.js 20 function app. The functions themselves come from the
// code (functions/azure, registered with @azure/functions v4); this module sets up the host.

param name string
param planName string
param location string
param tags object

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Blob endpoint of the storage account holding the deployment container (ends with "/").')
param storageBlobEndpoint string

@description('Deployment package container (Flex Consumption pulls the app from it).')
param deploymentContainerName string

@description('Memory of each instance in MB (Flex Consumption sizes: 512, 2048, 4096).')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Upper bound of the scale-out.')
@maxValue(1000)
param maximumInstanceCount int = 100

// Flex Consumption rejects the classic runtime settings (FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION, WEBSITE_NODE_DEFAULT_VERSION, WEBSITE_RUN_FROM_PACKAGE,
// WEBSITE_CONTENT*): the runtime is declared in functionAppConfig instead.
@description('App settings (name -> value). Replaces all app settings of the site.')
param appSettings object

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references are resolved with this identity (there is no system-assigned one).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: appSettings
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
