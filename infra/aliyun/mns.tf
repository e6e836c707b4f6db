# The ingest queue (Aliyun:QueueName) and its dead-letter queue (Aliyun:DeadLetterQueueName).
#
# Two mechanisms move a message that keeps failing, with the same limit: the code moves a message
# received more than Aliyun:MaxReceiveCount times (with a dead-letter envelope naming the reason), and
# the queue's own dlq_policy moves it after max_receive_count receives even when no function gets to
# settle it. Both are bound to var.mns_max_receive_count.

resource "alicloud_message_service_queue" "dead_letter" {
  queue_name               = var.mns_dead_letter_queue_name
  maximum_message_size     = 65536
  message_retention_period = 604800 # 7 days: time to inspect and replay
  visibility_timeout       = var.mns_visibility_timeout_seconds
  polling_wait_seconds     = 0
  tags                     = var.tags
}

resource "alicloud_message_service_queue" "tasks" {
  queue_name               = var.mns_queue_name
  maximum_message_size     = 65536 # Ingest:MaxBodyBytes
  message_retention_period = 345600
  # How long a received message stays hidden: Ingest:VisibilityTimeout (MessageTimeout + 30 s).
  visibility_timeout   = var.mns_visibility_timeout_seconds
  polling_wait_seconds = 0 # the puller long-polls per request (Ingest:ReceiveWaitTime)
  tags                 = var.tags

  dlq_policy {
    enabled                  = true
    dead_letter_target_queue = alicloud_message_service_queue.dead_letter.queue_name
    max_receive_count        = var.mns_max_receive_count
  }
}
