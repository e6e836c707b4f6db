# Simple Log Service project and logstore the functions log to (log_config of each function).

locals {
  # Project names are unique across Alibaba Cloud: the account id makes the default one unique.
  log_project_name = var.log_project_name != "" ? var.log_project_name : "${var.name_prefix}-logs-${local.account_id}"
}

resource "alicloud_log_project" "functions" {
  project_name = local.log_project_name
  description  = "taskmesh Function Compute logs"
  tags         = var.tags
}

resource "alicloud_log_store" "functions" {
  project_name          = alicloud_log_project.functions.project_name
  logstore_name         = var.log_store_name
  retention_period      = var.log_retention_days
  shard_count           = 2
  auto_split            = true
  max_split_shard_count = 16
  append_meta           = true
}
