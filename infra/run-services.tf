# The three roles as Cloud Run services, all from the one image. The deploy workflow rolls out
# new images and moves traffic itself (canary, then all or back), so Terraform sets the first
# image and traffic and then leaves both to it (lifecycle.ignore_changes).

resource "google_cloud_run_v2_service" "api" {
  name                = "${local.prefix}-api"
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = true

  template {
    service_account                  = google_service_account.runtime["api"].email
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    max_instance_request_concurrency = var.api_concurrency
    # Live updates are WebSockets: a request lasts as long as the browser stays.
    timeout = "3600s"

    scaling {
      min_instance_count = var.api_min_instances
      max_instance_count = var.api_max_instances
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
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.api_cpu
          memory = var.api_memory
        }
        # Always allocated: Redis pub/sub for live updates and the metrics scrape run between
        # requests.
        cpu_idle          = false
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.plain_env.api
        content {
          name  = env.key
          value = env.value
        }
      }
      dynamic "env" {
        for_each = local.secret_env.api
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

      # Takes traffic only once PostgreSQL, the migrations and Redis check out.
      startup_probe {
        http_get {
          path = "/ready"
        }
        period_seconds    = 5
        timeout_seconds   = 4
        failure_threshold = 24
      }
      liveness_probe {
        http_get {
          path = "/health"
        }
        period_seconds    = 15
        timeout_seconds   = 5
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

  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  lifecycle {
    ignore_changes = [template[0].containers[0].image, traffic, client, client_version]
  }

  depends_on = [google_secret_manager_secret_iam_member.readers, google_secret_manager_secret_version.generated]
}

# The API is the public door (panel, REST, SDKs, OAuth callbacks).
resource "google_cloud_run_v2_service_iam_member" "api_public" {
  name     = google_cloud_run_v2_service.api.name
  location = google_cloud_run_v2_service.api.location
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# Workers and bot take no requests: their port is the metrics listener, internal only, and no
# one is granted run.invoker on them. CPU stays allocated (they work without requests).
resource "google_cloud_run_v2_service" "workers" {
  name                = "${local.prefix}-workers"
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_INTERNAL_ONLY"
  deletion_protection = true

  template {
    service_account       = google_service_account.runtime["workers"].email
    execution_environment = "EXECUTION_ENVIRONMENT_GEN2"

    # Scaled on CPU between these bounds: every instance takes jobs from the same queues.
    scaling {
      min_instance_count = var.workers_min_instances
      max_instance_count = var.workers_max_instances
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
          cpu    = var.workers_cpu
          memory = var.workers_memory
        }
        cpu_idle          = false
        startup_cpu_boost = true
      }
      dynamic "env" {
        for_each = local.plain_env.workers
        content {
          name  = env.key
          value = env.value
        }
      }
      dynamic "env" {
        for_each = local.secret_env.workers
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
