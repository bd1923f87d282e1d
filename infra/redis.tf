# Memorystore for Redis: BullMQ's queues, live-update pub/sub and sessions. BullMQ is only
# correct with `noeviction` (an evicted key is a lost job or lock). Memorystore for Redis offers
# RDB snapshots, not AOF: the Standard tier keeps a replica in step and fails over to it, and
# hourly snapshots cover losing both (README.md, "Redis persistence").
resource "google_redis_instance" "main" {
  name           = "${local.prefix}-redis"
  region         = var.region
  tier           = "STANDARD_HA"
  memory_size_gb = var.redis_memory_gb
  redis_version  = var.redis_version

  authorized_network = google_compute_network.vpc.id
  connect_mode       = "PRIVATE_SERVICE_ACCESS"

  auth_enabled            = true
  transit_encryption_mode = "SERVER_AUTHENTICATION"

  redis_configs = {
    "maxmemory-policy" = "noeviction"
  }

  persistence_config {
    persistence_mode    = "RDB"
    rdb_snapshot_period = "ONE_HOUR"
  }

  maintenance_policy {
    weekly_maintenance_window {
      day = "SUNDAY"
      start_time {
        hours   = 4
        minutes = 30
      }
    }
  }

  depends_on = [google_service_networking_connection.services]
}

locals {
  # rediss:// (TLS, port 6378) with the instance's AUTH string; the CA that signs the server's
  # certificate reaches Node through NODE_EXTRA_CA_CERTS (run-*.tf).
  redis_url = "rediss://:${google_redis_instance.main.auth_string}@${google_redis_instance.main.host}:${google_redis_instance.main.port}"
}
