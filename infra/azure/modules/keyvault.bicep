// Key Vault (Azure RBAC, no access policies) holding the app's secrets. App settings only carry
// @Microsoft.KeyVault(SecretUri=...) references, resolved by the platform with the function app's
// user-assigned identity (keyVaultReferenceIdentity) through the Key Vault Secrets User role.

@description('Key Vault name (3-24 letters, digits and hyphens; globally unique, also while soft-deleted).')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object

@secure()
@description('MongoDB connection string (MongoDB__ConnectionString).')
param mongoDbConnectionString string

@description('Storage account whose connection string the code\'s Storage Queue client uses (AzureStorage__ConnectionString).')
param storageAccountName string

// Purge protection cannot be turned off again once on; leave it off for throwaway environments.
@description('Enable purge protection.')
param enablePurgeProtection bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // The API refuses an explicit false: omit the property instead.
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
  }
}

resource mongoDbSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'mongodb-connection-string'
  properties: {
    value: mongoDbConnectionString
    contentType: 'text/plain'
  }
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

// The code's Storage Queue client takes a connection string only (see storage.bicep). It lives here,
// never in app settings.
resource storageSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'storage-connection-string'
  properties: {
    value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
    contentType: 'text/plain'
  }
}

output id string = vault.id
output name string = vault.name
// Versionless URIs: a new secret version is picked up by the platform without redeploying.
output mongoDbConnectionStringSecretUri string = mongoDbSecret.properties.secretUri
output storageConnectionStringSecretUri string = storageSecret.properties.secretUri
