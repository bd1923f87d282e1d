# The Discord bot: one service per shard group (locals.bot_groups in main.tf), each exactly one
# always-on instance. Discord allows one session per shard, so a group never scales out; more
# guilds mean more shards and more groups. Session starts are coordinated through Redis, so the
# groups respect Discord's max_concurrency between them.
resource "google_cloud_run_v2_service" "bot" {
  for_each            = local.bot_groups
  name                = "${local.prefix}-${each.key}"
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  deletion_protection = true

  template {
    service_account       = google_service_account.runtime["bot"].email
    execution_environment = "EXECUTION_ENVIRONMENT_GEN2"

    scaling {
      min_instance_count = 1
      max_instance_count = 1
    }

    vpc_access {
      egress = "PRIVATE_RANGES_ONLY"
      network_interfaces {
        network    = google_compute_network.vpc.id
        subnetwork = google_compute_subnetwork.run.id
      }
    }

    containers {
      name  = "app"
      image = local.image
      ports {
        container_port = local.metrics_port
      }
      resources {
        limits = {
          cpu    = var.bot_cpu
          memory = var.bot_memory
        }
        # The gateway connection is held without requests: CPU must never be throttled.
        cpu_idle          = false
        startup_cpu_boost = true
      }
      dynamic "env" {
        for_each = merge(local.plain_env.bot, { SHARD_IDS = each.value })
        content {
          name  = env.key
          value = env.value
        }
      }
      dynamic "env" {
        for_each = local.secret_env.bot
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = local.secret_ids[env.value]
              version = "latest"
            }
          }
        }
      }
      volume_mounts {
        name       = "service-ca"
        mount_path = local.ca_dir
      }
      startup_probe {
        tcp_socket {
          port = local.metrics_port
        }
        period_seconds    = 5
        failure_threshold = 24
      }
      liveness_probe {
        http_get {
          path = "/metrics"
        }
        period_seconds    = 30
        timeout_seconds   = 10
        failure_threshold = 3
      }
    }

    containers {
      name       = "metrics"
      image      = var.metrics_sidecar_image
      depends_on = ["app"]
      resources {
        limits = {
          cpu    = "1"
          memory = "256Mi"
        }
      }
      volume_mounts {
        name       = "metrics-config"
        mount_path = "/etc/rungmp"
      }
    }

    volumes {
      name = "service-ca"
      secret {
        secret = local.secret_ids["service-ca"]
        items {
          version = "latest"
          path    = "service-ca.pem"
        }
      }
    }
    volumes {
      name = "metrics-config"
      secret {
        secret = local.secret_ids["metrics-scrape-config"]
        items {
          version = "latest"
          path    = "config.yaml"
        }
      }
    }
  }

  lifecycle {
    ignore_changes = [template[0].containers[0].image, traffic, client, client_version]
  }

  depends_on = [google_secret_manager_secret_iam_member.readers, google_secret_manager_secret_version.generated]
}
