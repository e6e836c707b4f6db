output "function_names" {
  description = "Function Compute function of each catalog entry."
  value       = { for key, fn in alicloud_fcv3_function.fn : key => fn.function_name }
}

output "admin_url" {
  description = "Public URL of the admin HTTP trigger (send the Admin__ApiKey as x-functions-key)."
  value       = try(alicloud_fcv3_trigger.admin_http.http_trigger[0].url_internet, null)
}

output "mns_endpoint" {
  description = "MNS endpoint the functions use."
  value       = local.mns_endpoint
}

output "mns_queue_name" {
  description = "Ingest queue to send task messages to."
  value       = alicloud_message_service_queue.tasks.queue_name
}

output "mns_dead_letter_queue_name" {
  description = "Dead-letter queue."
  value       = alicloud_message_service_queue.dead_letter.queue_name
}

output "role_arn" {
  description = "RAM role the functions run as."
  value       = alicloud_ram_role.functions.arn
}

output "log_project" {
  description = "Simple Log Service project of the function logs."
  value       = alicloud_log_project.functions.project_name
}

output "log_store" {
  description = "Logstore of the function logs."
  value       = alicloud_log_store.functions.logstore_name
}
