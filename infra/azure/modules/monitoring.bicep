// Log Analytics workspace + workspace-based Application Insights.

param workspaceName string
param appInsightsName string
param location string
param tags object

@description('Days the workspace keeps logs.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

// The Functions host can send telemetry with Entra ID (APPLICATIONINSIGHTS_AUTHENTICATION_STRING and
// the Monitoring Metrics Publisher role), but the app's own OpenTelemetry exporter
// (lib/telemetry/setup.ts) authenticates with the connection string only. Turning local
// authentication off therefore silences the app's metrics and traces: keep it on until the exporter
// is given a credential.
@description('Disable instrumentation-key ingestion (Entra ID only).')
param disableLocalAuth bool = false

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    DisableLocalAuth: disableLocalAuth
  }
}

output workspaceName string = workspace.name
output appInsightsName string = appInsights.name
output appInsightsId string = appInsights.id
// Not a credential on its own when local auth is off; with local auth on it lets anyone holding it
// send telemetry (never read it): it goes into APPLICATIONINSIGHTS_CONNECTION_STRING as usual.
output connectionString string = appInsights.properties.ConnectionString
