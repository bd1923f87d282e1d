# The migrations, as a Cloud Run job with the owner role's connection. The deploy workflow runs
# it with the new image (`gcloud run jobs execute --wait`) and only deploys the services once it
# has succeeded, so no revision takes traffic against a schema older than it expects. The
# services themselves refuse to start on an unmigrated schema (db/migrate.ts).
resource "google_cloud_run_v2_job" "migrate" {
  name                = "${local.prefix}-migrate"
  location            = var.region
  deletion_protection = true

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account       = google_service_account.runtime["migrate"].email
      execution_environment = "EXECUTION_ENVIRONMENT_GEN2"
      # A failed migration is looked at, not retried blindly: the pending migrations run in one
      # transaction (db/migrate.ts), so a failure leaves the schema as it was.
      max_retries = 0
      timeout     = "1800s"

      vpc_access {
        egress = "PRIVATE_RANGES_ONLY"
        network_interfaces {
          network    = google_compute_network.vpc.id
          subnetwork = google_compute_subnetwork.run.id
        }
      }

      containers {
        name    = "migrate"
        image   = local.image
        command = ["node"]
        args    = ["dist/db/migrate-cli.js"]

        resources {
          limits = {
            cpu    = "1"
            memory = "512Mi"
          }
        }

        dynamic "env" {
          for_each = local.plain_env.migrate
          content {
            name  = env.key
            value = env.value
          }
        }
        dynamic "env" {
          for_each = local.secret_env.migrate
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
    }
  }

  lifecycle {
    ignore_changes = [template[0].template[0].containers[0].image, client, client_version]
  }

  depends_on = [google_secret_manager_secret_iam_member.readers, google_secret_manager_secret_version.generated]
}
