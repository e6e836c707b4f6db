// Azure Monitor alert rules and a workbook over the signals an operator acts on: dead letters
// waiting, the oldest runnable task, the failure rate of task attempts, stalled tasks reclaimed, and
// failing function invocations. Thresholds are parameters (defaults and meaning: docs/deploy.md).
//
// The app's OpenTelemetry metrics reach Application Insights through @azure/monitor-opentelemetry-exporter
// as customMetrics rows named exactly like the instruments (lib/telemetry/metrics.ts `metricNames`),
// their attributes as customDimensions, counters as deltas per export (sum valueSum over a window =
// events in it), gauges as one value per export. test/infra binds every metric name and dimension
// queried here to the code.

param location string
param tags object

@description('Prefix of the rule names.')
param namePrefix string

@description('Resource id of the Application Insights component the app and the Functions host send to.')
param appInsightsId string

@description('Resource id of the Service Bus namespace.')
param serviceBusNamespaceId string

@description('Name of the function app (cloud_RoleName of the Functions host\'s requests).')
param functionAppName string

@description('Resource id of an existing action group. Empty: one is created for emailReceivers (none when that is empty too).')
param actionGroupId string = ''

@description('E-mail addresses of the action group created when actionGroupId is empty.')
param emailReceivers array = []

@description('Dead-lettered messages waiting above which the dead-letter alerts fire.')
@minValue(0)
param deadLetterThreshold int = 0

@description('Minutes the oldest runnable task may wait before the backlog alert fires.')
@minValue(1)
param oldestTaskAgeMinutes int = 15

@description('Percentage of failed task attempts in the window above which the failure-rate alert fires.')
@minValue(0)
@maxValue(100)
param failureRatePercent int = 10

@description('Attempts in the window below which the failure rate is not judged.')
@minValue(1)
param failureRateMinAttempts int = 20

@description('Stalled tasks reclaimed in the window above which the reclaim alert fires.')
@minValue(0)
param reclaimedThreshold int = 0

@description('Failed function invocations in the window above which the function-failure alert fires.')
@minValue(0)
param functionFailuresThreshold int = 0

@description('Window the log-based alerts look back over (ISO 8601).')
param window string = 'PT15M'

@description('How often the alerts are evaluated (ISO 8601).')
param evaluationFrequency string = 'PT5M'

// ---------------------------------------------------------------------------------------------
// Queries (Application Insights schema: customMetrics, requests, exceptions)
// ---------------------------------------------------------------------------------------------

var queries = {
  deadLetterDepth: 'customMetrics | where name == "taskmesh.queue.dead_letter.depth" | summarize deadLetters = max(value) by queue = tostring(customDimensions["queue.name"])'
  oldestRunnableAge: 'customMetrics | where name == "taskmesh.tasks.oldest_runnable.age" | summarize ageMinutes = max(value) / 60000.0'
  failureRate: 'customMetrics | where name in ("taskmesh.tasks.failed", "taskmesh.tasks.succeeded") | summarize failed = sumif(valueSum, name == "taskmesh.tasks.failed"), succeeded = sumif(valueSum, name == "taskmesh.tasks.succeeded") | where failed + succeeded >= ${failureRateMinAttempts} | extend failurePercent = 100.0 * failed / (failed + succeeded)'
  reclaimed: 'customMetrics | where name == "taskmesh.tasks.reclaimed" | summarize reclaimed = sum(valueSum)'
  functionFailures: 'requests | where cloud_RoleName =~ "${functionAppName}" and success == false | summarize failures = count() by operation_Name'
}

// The same signals over time, for the workbook.
var charts = {
  oldestRunnableAge: 'customMetrics | where name == "taskmesh.tasks.oldest_runnable.age" | summarize ageMinutes = max(value) / 60000.0 by bin(timestamp, 5m) | render timechart'
  attempts: 'customMetrics | where name in ("taskmesh.tasks.succeeded", "taskmesh.tasks.failed", "taskmesh.tasks.retried", "taskmesh.tasks.timed_out") | summarize attempts = sum(valueSum) by name, bin(timestamp, 5m) | render timechart'
  failureRate: 'customMetrics | where name in ("taskmesh.tasks.failed", "taskmesh.tasks.succeeded") | summarize failed = sumif(valueSum, name == "taskmesh.tasks.failed"), succeeded = sumif(valueSum, name == "taskmesh.tasks.succeeded") by bin(timestamp, 5m) | extend failurePercent = iff(failed + succeeded > 0, 100.0 * failed / (failed + succeeded), 0.0) | project timestamp, failurePercent | render timechart'
  failuresByType: 'customMetrics | where name == "taskmesh.tasks.failed" | summarize failed = sum(valueSum) by taskType = tostring(customDimensions["task.type"]), failureKind = tostring(customDimensions["failure.kind"]) | order by failed desc'
  reclaimed: 'customMetrics | where name == "taskmesh.tasks.reclaimed" | summarize reclaimed = sum(valueSum) by outcome = tostring(customDimensions["reclaim.outcome"]), bin(timestamp, 5m) | render timechart'
  queueDepth: 'customMetrics | where name in ("taskmesh.queue.depth", "taskmesh.queue.dead_letter.depth") | summarize messages = max(value) by series = strcat(name, " ", tostring(customDimensions["queue.name"])), bin(timestamp, 5m) | render timechart'
  functionFailures: 'requests | where cloud_RoleName =~ "${functionAppName}" | summarize invocations = count(), failures = countif(success == false) by operation_Name, bin(timestamp, 5m) | render timechart'
  exceptions: 'exceptions | where cloud_RoleName =~ "${functionAppName}" or cloud_RoleName == "taskmesh" | summarize count() by type, outerMessage | order by count_ desc | take 20'
}

// ---------------------------------------------------------------------------------------------
// Action group
// ---------------------------------------------------------------------------------------------

var createActionGroup = empty(actionGroupId) && !empty(emailReceivers)

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (createActionGroup) {
  name: '${namePrefix}-alerts'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: take(namePrefix, 12)
    enabled: true
    emailReceivers: [
      for (address, i) in emailReceivers: {
        name: 'email-${i}'
        emailAddress: address
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroupIds = !empty(actionGroupId) ? [actionGroupId] : (createActionGroup ? [actionGroup.id] : [])

// ---------------------------------------------------------------------------------------------
// Alert rules
// ---------------------------------------------------------------------------------------------

// Service Bus's own count of dead-lettered messages per entity (queue, topic subscription).
resource serviceBusDeadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-servicebus-dead-letters'
  location: 'global'
  tags: tags
  properties: {
    description: 'Dead-lettered messages are waiting in a Service Bus entity. Inspect and replay them (taskctl, admin API).'
    severity: 2
    enabled: true
    scopes: [
      serviceBusNamespaceId
    ]
    evaluationFrequency: evaluationFrequency
    windowSize: window
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'dead-letters'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          timeAggregation: 'Maximum'
          operator: 'GreaterThan'
          threshold: deadLetterThreshold
        }
      ]
    }
    autoMitigate: true
    actions: [
      for id in actionGroupIds: {
        actionGroupId: id
      }
    ]
  }
}

var logAlerts = [
  {
    key: 'dead-letter-depth'
    displayName: 'taskmesh: dead letters waiting (app gauge)'
    description: 'A queue provider reports dead-lettered messages (taskmesh.queue.dead_letter.depth: Service Bus dead-letter sub-queues, storage poison queues, the MNS dead-letter queue).'
    severity: 2
    query: queries.deadLetterDepth
    column: 'deadLetters'
    threshold: deadLetterThreshold
  }
  {
    key: 'oldest-runnable-task'
    displayName: 'taskmesh: oldest runnable task waiting too long'
    description: 'The oldest task that could run now has waited longer than the threshold (minutes): processors are not keeping up or not running.'
    severity: 2
    query: queries.oldestRunnableAge
    column: 'ageMinutes'
    threshold: oldestTaskAgeMinutes
  }
  {
    key: 'failure-rate'
    displayName: 'taskmesh: task failure rate'
    description: 'Failed task attempts exceed the threshold percentage of finished attempts in the window.'
    severity: 2
    query: queries.failureRate
    column: 'failurePercent'
    threshold: failureRatePercent
  }
  {
    key: 'stalled-tasks-reclaimed'
    displayName: 'taskmesh: stalled tasks reclaimed'
    description: 'The reclaimer took tasks back from workers whose heartbeat stopped (crashed or frozen workers).'
    severity: 3
    query: queries.reclaimed
    column: 'reclaimed'
    threshold: reclaimedThreshold
  }
  {
    key: 'function-failures'
    displayName: 'taskmesh: function invocations failing'
    description: 'Invocations of the function app failed (requests with success == false).'
    severity: 1
    query: queries.functionFailures
    column: 'failures'
    threshold: functionFailuresThreshold
  }
]

resource rules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for a in logAlerts: {
    name: '${namePrefix}-${a.key}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: a.displayName
      description: a.description
      severity: a.severity
      enabled: true
      scopes: [
        appInsightsId
      ]
      evaluationFrequency: evaluationFrequency
      windowSize: window
      criteria: {
        allOf: [
          {
            query: a.query
            timeAggregation: 'Maximum'
            metricMeasureColumn: a.column
            operator: 'GreaterThan'
            threshold: a.threshold
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: actionGroupIds
      }
    }
  }
]

// ---------------------------------------------------------------------------------------------
// Workbook
// ---------------------------------------------------------------------------------------------

var chartItems = [
  {
    key: 'oldest-runnable-age'
    title: 'Oldest runnable task (minutes)'
    query: charts.oldestRunnableAge
  }
  {
    key: 'attempts'
    title: 'Task attempts by outcome'
    query: charts.attempts
  }
  {
    key: 'failure-rate'
    title: 'Failure rate of attempts (%)'
    query: charts.failureRate
  }
  {
    key: 'failures-by-type'
    title: 'Failed attempts by task type and kind'
    query: charts.failuresByType
  }
  {
    key: 'reclaimed'
    title: 'Stalled tasks reclaimed'
    query: charts.reclaimed
  }
  {
    key: 'queue-depth'
    title: 'Queue and dead-letter depth (app gauges)'
    query: charts.queueDepth
  }
  {
    key: 'function-failures'
    title: 'Function invocations and failures'
    query: charts.functionFailures
  }
  {
    key: 'exceptions'
    title: 'Top exceptions'
    query: charts.exceptions
  }
]

var workbookContent = {
  version: 'Notebook/1.0'
  items: concat(
    [
      {
        type: 1
        name: 'header'
        content: {
          json: '## taskmesh\nTasks, queues and functions of this deployment. The alert rules ${namePrefix}-* watch the same signals.'
        }
      }
      {
        type: 10
        name: 'servicebus-dead-letters'
        content: {
          version: 'MetricsItem/2.0'
          size: 0
          chartType: 2
          resourceType: 'microsoft.servicebus/namespaces'
          metricScope: 0
          resourceIds: [
            serviceBusNamespaceId
          ]
          timeContext: {
            durationMs: 86400000
          }
          metrics: [
            {
              namespace: 'microsoft.servicebus/namespaces'
              metric: 'microsoft.servicebus/namespaces--DeadletteredMessages'
              aggregation: 3
              splitBy: 'EntityName'
            }
          ]
          title: 'Service Bus dead-lettered messages by entity'
        }
      }
    ],
    map(chartItems, c => {
      type: 3
      name: c.key
      content: {
        version: 'KqlItem/1.0'
        query: c.query
        size: 0
        title: c.title
        timeContext: {
          durationMs: 86400000
        }
        queryType: 0
        resourceType: 'microsoft.insights/components'
      }
    })
  )
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, appInsightsId, 'taskmesh-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'taskmesh operations'
    category: 'workbook'
    sourceId: appInsightsId
    serializedData: string(workbookContent)
    version: 'Notebook/1.0'
  }
}

output actionGroupIds array = actionGroupIds
output metricAlertName string = serviceBusDeadLetters.name
output logAlertNames array = [for (a, i) in logAlerts: rules[i].name]
output workbookId string = workbook.id
