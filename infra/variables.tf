# Every input of the deployment. None holds a secret: secrets are generated into Secret Manager
# or added there by the operator (secrets.tf), never passed as variables.

variable "project_id" {
  description = "The Google Cloud project to deploy into."
  type        = string
}

variable "region" {
  description = "The region for Cloud Run, Cloud SQL, Memorystore, the bucket and the image repository."
  type        = string
  default     = "europe-west1"
}

variable "name_prefix" {
  description = "Prefix of every resource name, so several deployments (staging, production) can share a project."
  type        = string
  default     = "gamemod"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}$", var.name_prefix))
    error_message = "Lowercase letters, digits and '-', starting with a letter, at most 15 characters (service account ids are limited to 30)."
  }
}

variable "image_tag" {
  description = "The image tag the services are first created with; later images are rolled out by the deploy workflow."
  type        = string
  default     = "initial"
}

variable "image_keep_count" {
  description = "How many recent images the repository keeps whatever their age (rollbacks need the previous ones)."
  type        = number
  default     = 20
}

variable "github_repository" {
  description = "The GitHub repository (owner/name) whose main branch may deploy, through Workload Identity Federation."
  type        = string
}

variable "public_url" {
  description = "The address users reach GameMod at (a custom domain mapped to the api service). Empty: the api service's run.app address."
  type        = string
  default     = ""
}

variable "log_level" {
  description = "LOG_LEVEL of every service: fatal, error, warn, info, debug or trace."
  type        = string
  default     = "info"
  validation {
    condition     = contains(["fatal", "error", "warn", "info", "debug", "trace"], var.log_level)
    error_message = "One of fatal, error, warn, info, debug, trace."
  }
}

variable "discord_application_id" {
  description = "The Discord application id (a public snowflake, not a secret); the bot token and client secret go to Secret Manager."
  type        = string
  default     = ""
}

variable "smtp_outbound_enabled" {
  description = "Whether staff replies to email tickets go out by SMTP; when true, add the relay URL to the smtp-outbound-url secret."
  type        = bool
  default     = false
}

variable "run_subnet_cidr" {
  description = "The subnet Cloud Run instances take their private addresses from (Direct VPC egress)."
  type        = string
  default     = "10.8.0.0/24"
}

variable "postgres_version" {
  description = "The Cloud SQL PostgreSQL version (15 or newer)."
  type        = string
  default     = "POSTGRES_16"
}

variable "db_tier" {
  description = "The primary's machine type, e.g. db-custom-2-7680 (2 vCPU, 7.5 GB)."
  type        = string
  default     = "db-custom-2-7680"
}

variable "db_replica_tier" {
  description = "The analytics read replica's machine type."
  type        = string
  default     = "db-custom-2-7680"
}

variable "db_high_availability" {
  description = "A standby in a second zone that Cloud SQL fails over to (REGIONAL availability)."
  type        = bool
  default     = true
}

variable "db_disk_gb" {
  description = "The primary's initial disk size in GB; it grows by itself."
  type        = number
  default     = 50
}

variable "db_backup_retained_count" {
  description = "How many daily backups Cloud SQL keeps."
  type        = number
  default     = 14
}

variable "db_max_connections" {
  description = "PostgreSQL max_connections: at least the sum of every service's DATABASE_POOL_MAX times its maximum instances, plus the migration job."
  type        = number
  default     = 400
}

variable "redis_memory_gb" {
  description = "Memorystore capacity in GB. With noeviction a full Redis refuses writes, so leave headroom (see the queue-depth alert)."
  type        = number
  default     = 2
}

variable "redis_version" {
  description = "The Memorystore Redis version."
  type        = string
  default     = "REDIS_7_2"
}

variable "files_noncurrent_days" {
  description = "Days a replaced or deleted file's old version is kept in the bucket before it is deleted."
  type        = number
  default     = 30
}

variable "files_nearline_after_days" {
  description = "Days after which files move to the cheaper Nearline storage class."
  type        = number
  default     = 90
}

variable "api_min_instances" {
  description = "API instances kept warm."
  type        = number
  default     = 1
}

variable "api_max_instances" {
  description = "The most API instances Cloud Run starts."
  type        = number
  default     = 10
}

variable "api_concurrency" {
  description = "Requests (and open WebSockets) one API instance takes at once."
  type        = number
  default     = 250
}

variable "api_cpu" {
  description = "CPUs per API instance."
  type        = string
  default     = "1"
}

variable "api_memory" {
  description = "Memory per API instance."
  type        = string
  default     = "1Gi"
}

variable "api_db_pool_max" {
  description = "DATABASE_POOL_MAX of each API instance."
  type        = number
  default     = 10
}

variable "workers_min_instances" {
  description = "Workers instances always running (at least 1: the outbox relay and the schedulers live here)."
  type        = number
  default     = 1
  validation {
    condition     = var.workers_min_instances >= 1
    error_message = "At least 1: without a workers instance no event is relayed."
  }
}

variable "workers_max_instances" {
  description = "The most workers instances Cloud Run scales to on CPU."
  type        = number
  default     = 5
}

variable "workers_cpu" {
  description = "CPUs per workers instance."
  type        = string
  default     = "1"
}

variable "workers_memory" {
  description = "Memory per workers instance."
  type        = string
  default     = "1Gi"
}

variable "workers_db_pool_max" {
  description = "DATABASE_POOL_MAX of each workers instance."
  type        = number
  default     = 10
}

variable "worker_concurrency" {
  description = "WORKER_CONCURRENCY: webhook deliveries one workers instance runs at once."
  type        = number
  default     = 50
}

variable "bot_shard_count" {
  description = "SHARD_COUNT: Discord shards in all (Discord asks for one per 2,500 guilds at most)."
  type        = number
  default     = 1
  validation {
    condition     = var.bot_shard_count >= 1
    error_message = "At least one shard."
  }
}

variable "bot_shards_per_service" {
  description = "Shards one bot service (one process) runs; the shards are split into ceil(count / this) services."
  type        = number
  default     = 8
  validation {
    condition     = var.bot_shards_per_service >= 1
    error_message = "At least one shard per service."
  }
}

variable "bot_cpu" {
  description = "CPUs per bot instance."
  type        = string
  default     = "1"
}

variable "bot_memory" {
  description = "Memory per bot instance."
  type        = string
  default     = "1Gi"
}

variable "bot_db_pool_max" {
  description = "DATABASE_POOL_MAX of each bot instance."
  type        = number
  default     = 5
}

variable "metrics_sidecar_image" {
  description = "Google's Managed Service for Prometheus sidecar for Cloud Run, which scrapes /metrics into Cloud Monitoring."
  type        = string
  default     = "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.2.0"
}

variable "alert_emails" {
  description = "Addresses the alerts are sent to."
  type        = list(string)
  default     = []
}

variable "alert_thresholds" {
  description = "Overrides of alerts.json thresholds by alert id, e.g. { \"http-5xx-rate\" = 0.05 }."
  type        = map(number)
  default     = {}
}

variable "shard_disconnects_per_10m" {
  description = "Shard connection errors and resumes per 10 minutes above which the shard alert fires."
  type        = number
  default     = 5
}

variable "error_logs_per_5m" {
  description = "Error log entries per 5 minutes (per service) above which the error-log alert fires."
  type        = number
  default     = 20
}
