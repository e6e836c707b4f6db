// The user-assigned managed identity the function app runs as. Every data-plane access (host storage,
// the deployment container, Service Bus, Key Vault references, Application Insights) goes through
// it, so no account key or SAS key is needed in app settings.

@description('Name of the user-assigned managed identity.')
param name string

param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
