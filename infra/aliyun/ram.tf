# The role every function runs as (Function Compute passes its STS credentials to the code in
# context.credentials and ALIBABA_CLOUD_* variables). It grants only what the functions call.

resource "alicloud_ram_role" "functions" {
  role_name   = "${var.name_prefix}-fc"
  description = "taskmesh Function Compute functions"
  assume_role_policy_document = jsonencode({
    Version = "1"
    Statement = [{
      Action    = "sts:AssumeRole"
      Effect    = "Allow"
      Principal = { Service = ["fc.aliyuncs.com"] }
    }]
  })
  force = true
  tags  = var.tags
}

locals {
  mns_queue_arns = flatten([
    for queue in [var.mns_queue_name, var.mns_dead_letter_queue_name] : [
      "acs:mns:${var.region}:${local.account_id}:/queues/${queue}",
      "acs:mns:${var.region}:${local.account_id}:/queues/${queue}/messages",
    ]
  ])

  # Batch calls (BatchReceiveMessage, BatchDeleteMessage, BatchSendMessage) are authorized by the
  # single-message actions. CreateQueue serves the code's ensureQueues (queues already created here are
  # left as they are); drop it with var.mns_allow_create_queue = false.
  mns_actions = concat(
    [
      "mns:SendMessage",
      "mns:ReceiveMessage",
      "mns:DeleteMessage",
      "mns:ChangeMessageVisibility",
      "mns:GetQueueAttributes",
    ],
    var.mns_allow_create_queue ? ["mns:CreateQueue"] : [],
  )
}

resource "alicloud_ram_policy" "functions" {
  policy_name = "${var.name_prefix}-fc"
  description = "taskmesh functions: MNS on the ingest and dead-letter queues, invoking the processor, writing logs"
  force       = true
  policy_document = jsonencode({
    Version = "1"
    Statement = [
      {
        Effect   = "Allow"
        Action   = local.mns_actions
        Resource = local.mns_queue_arns
      },
      {
        # mns-puller wakes the processor (asynchronous invocation, FC 3.0 API).
        Effect = "Allow"
        Action = ["fc:InvokeFunction"]
        Resource = [
          "acs:fc:${var.region}:${local.account_id}:functions/${local.function_names["processor"]}",
          "acs:fc:${var.region}:${local.account_id}:functions/${local.function_names["processor"]}/*",
        ]
      },
      {
        # Function Compute writes the functions' logs (log_config) with the function's role.
        Effect   = "Allow"
        Action   = ["log:PostLogStoreLogs"]
        Resource = ["acs:log:${var.region}:${local.account_id}:project/${local.log_project_name}/logstore/${var.log_store_name}"]
      },
    ]
  })
}

resource "alicloud_ram_role_policy_attachment" "functions" {
  role_name   = alicloud_ram_role.functions.role_name
  policy_name = alicloud_ram_policy.functions.policy_name
  policy_type = "Custom"
}
