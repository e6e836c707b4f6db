terraform {
  required_version = ">= 1.5.0"

  required_providers {
    alicloud = {
      source = "aliyun/alicloud"
      # alicloud_fcv3_function / alicloud_fcv3_trigger exist since 1.228.0, dlq_policy on
      # alicloud_message_service_queue since 1.244.0, and alicloud_ram_role's role_name /
      # assume_role_policy_document (used here instead of the deprecated name / document) since 1.252.0.
      version = "~> 1.252"
    }
  }
}

# Credentials come from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET,
# or a profile via ALIBABA_CLOUD_PROFILE); see docs/deploy.md.
provider "alicloud" {
  region = var.region
}
