# Alerts and a dashboard over the functions' logs (Simple Log Service) and a CloudMonitor alarm on the
# dead-letter queue. The signals: dead letters waiting, the oldest runnable task, the failure rate of
# task attempts, stalled tasks reclaimed, and failing function invocations. Thresholds are variables
# (defaults and meaning: docs/deploy.md).
#
# The code logs one JSON object per line (lib/log/logger.ts: `msg` plus fields); Function Compute puts
# each line in the `message` field of the logstore (log_begin_rule = "None" in functions.tf keeps one
# line per entry), and its request-level metrics (enable_request_metrics) as entries with
# `functionName`, `hasFunctionError` and `durationMs`. test/infra binds every message and field the
# queries below read to a log call in lib/.

locals {
  # SQL over one log message of the code: its entries, filtered by `msg`.
  sls_queries = {
    dead_letters = "* | SELECT count(1) AS dead_lettered FROM log WHERE json_extract_scalar(message, '$.msg') = 'message dead-lettered'"

    oldest_runnable_task = "* | SELECT coalesce(max(cast(json_extract_scalar(message, '$.oldestRunnableAgeMs') AS double)), 0) / 60000.0 AS age_minutes FROM log WHERE json_extract_scalar(message, '$.msg') = 'task backlog'"

    failure_rate = "* | SELECT sum(failed) AS failed, sum(succeeded) AS succeeded, CASE WHEN sum(failed) + sum(succeeded) >= ${var.alert_failure_rate_min_attempts} THEN 100.0 * sum(failed) / (sum(failed) + sum(succeeded)) ELSE 0 END AS failure_percent FROM (SELECT coalesce(cast(json_extract_scalar(message, '$.outcomes.failed') AS bigint), 0) + coalesce(cast(json_extract_scalar(message, '$.outcomes.retrying') AS bigint), 0) + coalesce(cast(json_extract_scalar(message, '$.outcomes[\"timed-out\"]') AS bigint), 0) + coalesce(cast(json_extract_scalar(message, '$.outcomes.rejected') AS bigint), 0) AS failed, coalesce(cast(json_extract_scalar(message, '$.outcomes.succeeded') AS bigint), 0) AS succeeded FROM log WHERE json_extract_scalar(message, '$.msg') = 'processor invocation done')"

    stalled_tasks_reclaimed = "* | SELECT coalesce(sum(coalesce(cast(json_extract_scalar(message, '$.tasks.retried') AS bigint), 0) + coalesce(cast(json_extract_scalar(message, '$.tasks.timedOut') AS bigint), 0)), 0) AS reclaimed FROM log WHERE json_extract_scalar(message, '$.msg') = 'reclaimer pass done'"

    function_failures = "hasFunctionError: true | SELECT count(1) AS failures FROM log"
  }

  sls_alerts = {
    "dead-letters" = {
      title       = "taskmesh: dead letters waiting"
      description = "Messages were moved to the MNS dead-letter queue. Inspect and replay them (taskctl, admin API)."
      severity    = 8
      query       = local.sls_queries.dead_letters
      condition   = "dead_lettered > ${var.alert_dead_letter_threshold}"
    }
    "oldest-runnable-task" = {
      title       = "taskmesh: oldest runnable task waiting too long"
      description = "The oldest task that could run now has waited longer than the threshold (minutes): processors are not keeping up or not running."
      severity    = 8
      query       = local.sls_queries.oldest_runnable_task
      condition   = "age_minutes > ${var.alert_oldest_task_age_minutes}"
    }
    "failure-rate" = {
      title       = "taskmesh: task failure rate"
      description = "Failed task attempts exceed the threshold percentage of finished attempts in the window."
      severity    = 8
      query       = local.sls_queries.failure_rate
      condition   = "failure_percent > ${var.alert_failure_rate_percent}"
    }
    "stalled-tasks-reclaimed" = {
      title       = "taskmesh: stalled tasks reclaimed"
      description = "The reclaimer took tasks back from workers whose heartbeat stopped (crashed or frozen invocations)."
      severity    = 6
      query       = local.sls_queries.stalled_tasks_reclaimed
      condition   = "reclaimed > ${var.alert_reclaimed_threshold}"
    }
    "function-failures" = {
      title       = "taskmesh: function invocations failing"
      description = "Invocations of the functions failed (request-level metrics with hasFunctionError)."
      severity    = 10
      query       = local.sls_queries.function_failures
      condition   = "failures > ${var.alert_function_failures_threshold}"
    }
  }

  # The same signals over time (5-minute buckets), for the dashboard.
  sls_charts = [
    {
      title = "Oldest runnable task (minutes)"
      query = "* | SELECT __time__ - __time__ % 300 AS t, max(cast(json_extract_scalar(message, '$.oldestRunnableAgeMs') AS double)) / 60000.0 AS age_minutes FROM log WHERE json_extract_scalar(message, '$.msg') = 'task backlog' GROUP BY t ORDER BY t"
      y     = ["age_minutes"]
    },
    {
      title = "Task attempts by outcome"
      query = "* | SELECT __time__ - __time__ % 300 AS t, sum(cast(json_extract_scalar(message, '$.outcomes.succeeded') AS bigint)) AS succeeded, sum(cast(json_extract_scalar(message, '$.outcomes.retrying') AS bigint)) AS retrying, sum(cast(json_extract_scalar(message, '$.outcomes.failed') AS bigint)) AS failed, sum(cast(json_extract_scalar(message, '$.outcomes[\"timed-out\"]') AS bigint)) AS timed_out FROM log WHERE json_extract_scalar(message, '$.msg') = 'processor invocation done' GROUP BY t ORDER BY t"
      y     = ["succeeded", "retrying", "failed", "timed_out"]
    },
    {
      title = "Stalled tasks reclaimed"
      query = "* | SELECT __time__ - __time__ % 300 AS t, sum(cast(json_extract_scalar(message, '$.tasks.retried') AS bigint)) AS retried, sum(cast(json_extract_scalar(message, '$.tasks.timedOut') AS bigint)) AS timed_out FROM log WHERE json_extract_scalar(message, '$.msg') = 'reclaimer pass done' GROUP BY t ORDER BY t"
      y     = ["retried", "timed_out"]
    },
    {
      title = "Messages dead-lettered"
      query = "* | SELECT __time__ - __time__ % 300 AS t, count(1) AS dead_lettered FROM log WHERE json_extract_scalar(message, '$.msg') = 'message dead-lettered' GROUP BY t ORDER BY t"
      y     = ["dead_lettered"]
    },
    {
      title = "Messages ingested from MNS"
      query = "* | SELECT __time__ - __time__ % 300 AS t, sum(cast(json_extract_scalar(message, '$.received') AS bigint)) AS received, sum(cast(json_extract_scalar(message, '$.stored') AS bigint)) AS stored, sum(cast(json_extract_scalar(message, '$.rejected') AS bigint)) AS rejected FROM log WHERE json_extract_scalar(message, '$.msg') = 'pulled ingest queue' GROUP BY t ORDER BY t"
      y     = ["received", "stored", "rejected"]
    },
    {
      title = "Function invocations and failures"
      query = "operation: InvokeFunction | SELECT __time__ - __time__ % 300 AS t, count(1) AS invocations, count_if(hasFunctionError = 'true') AS failures FROM log GROUP BY t ORDER BY t"
      y     = ["invocations", "failures"]
    },
  ]
}

# Queries and SQL over the logstore need an index: full text, and the fields the queries read with
# analytics on.
resource "alicloud_log_store_index" "functions" {
  project  = alicloud_log_project.functions.project_name
  logstore = alicloud_log_store.functions.logstore_name

  full_text {
    case_sensitive = false
    token          = " #$^*\r\n\t"
  }

  dynamic "field_search" {
    for_each = {
      message          = "text"
      functionName     = "text"
      qualifier        = "text"
      operation        = "text"
      hasFunctionError = "text"
      durationMs       = "double"
    }
    content {
      name             = field_search.key
      type             = field_search.value
      enable_analytics = true
      token            = field_search.value == "text" ? " #$^*\r\n\t,;:\"'{}[]()" : null
    }
  }
}

resource "alicloud_log_alert" "taskmesh" {
  for_each = var.monitoring_enabled ? local.sls_alerts : {}

  version           = "2.0"
  type              = "default"
  project_name      = alicloud_log_project.functions.project_name
  alert_name        = "${var.name_prefix}-${each.key}"
  alert_displayname = each.value.title
  alert_description = each.value.description
  send_resolved     = true
  no_data_fire      = false
  auto_annotation   = true

  schedule {
    type     = "FixedRate"
    interval = "${var.alert_interval_minutes}m"
  }

  query_list {
    store          = alicloud_log_store.functions.logstore_name
    store_type     = "log"
    project        = alicloud_log_project.functions.project_name
    region         = var.region
    query          = each.value.query
    start          = "-${var.alert_window_minutes}m"
    end            = "now"
    time_span_type = "Relative"
    power_sql_mode = "auto"
  }

  severity_configurations {
    severity = each.value.severity
    eval_condition = {
      condition       = each.value.condition
      count_condition = ""
    }
  }

  policy_configuration {
    alert_policy_id  = "sls.builtin.dynamic"
    action_policy_id = var.sls_alert_action_policy_id
    repeat_interval  = "1h"
  }

  labels {
    key   = "application"
    value = "taskmesh"
  }

  annotations {
    key   = "title"
    value = each.value.title
  }

  annotations {
    key   = "desc"
    value = each.value.description
  }

  depends_on = [alicloud_log_store_index.functions]
}

resource "alicloud_log_dashboard" "taskmesh" {
  count = var.monitoring_enabled ? 1 : 0

  project_name   = alicloud_log_project.functions.project_name
  dashboard_name = "${var.name_prefix}-operations"
  display_name   = "taskmesh operations"
  char_list = jsonencode([
    for i, c in local.sls_charts : {
      title = c.title
      type  = "line"
      search = {
        logstore = alicloud_log_store.functions.logstore_name
        topic    = ""
        query    = c.query
        start    = "-86400s"
        end      = "now"
      }
      display = {
        xAxis       = ["t"]
        yAxis       = c.y
        xPos        = (i % 2) * 6
        yPos        = floor(i / 2) * 6
        width       = 6
        height      = 6
        displayName = c.title
      }
    }
  ])

  depends_on = [alicloud_log_store_index.functions]
}

# The queue's own dlq_policy moves messages without any function logging it: CloudMonitor's count of
# visible messages in the dead-letter queue covers those too.
resource "alicloud_cms_alarm_contact_group" "taskmesh" {
  count = var.monitoring_enabled ? 1 : 0

  alarm_contact_group_name = "${var.name_prefix}-alerts"
  describe                 = "taskmesh alarms"
  contacts                 = var.alarm_contacts
}

resource "alicloud_cms_alarm" "dead_letters" {
  count = var.monitoring_enabled ? 1 : 0

  name    = "${var.name_prefix}-mns-dead-letters"
  project = var.mns_metric_namespace
  metric  = var.mns_visible_messages_metric
  metric_dimensions = jsonencode([{
    userId = local.account_id
    region = var.region
    queue  = alicloud_message_service_queue.dead_letter.queue_name
  }])
  period             = 300
  contact_groups     = [alicloud_cms_alarm_contact_group.taskmesh[0].alarm_contact_group_name]
  effective_interval = "00:00-23:59"
  enabled            = true

  escalations_critical {
    statistics          = "Maximum"
    comparison_operator = ">"
    threshold           = tostring(var.alert_dead_letter_threshold)
    times               = 1
  }
}
