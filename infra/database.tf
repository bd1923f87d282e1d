# Cloud SQL for PostgreSQL: private IP only, TLS required, daily backups with point-in-time
# recovery, and a read replica that serves the analytics API (ANALYTICS_DATABASE_URL).
resource "google_sql_database_instance" "primary" {
  name                = "${local.prefix}-pg"
  region              = var.region
  database_version    = var.postgres_version
  deletion_protection = true
  # The built-in `postgres` user's password; needed once for the setup in README.md.
  root_password = random_password.db["postgres"].result

  settings {
    edition           = "ENTERPRISE"
    tier              = var.db_tier
    availability_type = var.db_high_availability ? "REGIONAL" : "ZONAL"
    disk_type         = "PD_SSD"
    disk_autoresize   = true
    disk_size         = var.db_disk_gb

    deletion_protection_enabled = true

    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.vpc.id
      ssl_mode        = "ENCRYPTED_ONLY"
    }

    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
      start_time                     = "03:00"
      transaction_log_retention_days = 7
      backup_retention_settings {
        retained_backups = var.db_backup_retained_count
        retention_unit   = "COUNT"
      }
    }

    maintenance_window {
      day          = 7
      hour         = 4
      update_track = "stable"
    }

    insights_config {
      query_insights_enabled  = true
      record_application_tags = true
      record_client_address   = false
    }

    # Enough connections for every service's pool at its maximum instances (see README.md).
    database_flags {
      name  = "max_connections"
      value = tostring(var.db_max_connections)
    }
    database_flags {
      name  = "log_min_duration_statement"
      value = "1000"
    }
    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
  }

  depends_on = [google_service_networking_connection.services]
}

resource "google_sql_database_instance" "analytics" {
  name                 = "${local.prefix}-pg-analytics"
  region               = var.region
  database_version     = var.postgres_version
  master_instance_name = google_sql_database_instance.primary.name
  deletion_protection  = true

  replica_configuration {
    failover_target = false
  }

  settings {
    edition           = "ENTERPRISE"
    tier              = var.db_replica_tier
    availability_type = "ZONAL"
    disk_type         = "PD_SSD"
    disk_autoresize   = true

    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.vpc.id
      ssl_mode        = "ENCRYPTED_ONLY"
    }

    database_flags {
      name  = "max_connections"
      value = tostring(var.db_max_connections)
    }
  }
}

resource "google_sql_database" "gamemod" {
  name     = "gamemod"
  instance = google_sql_database_instance.primary.name
}

resource "random_password" "db" {
  for_each = toset(["postgres", "owner", "app"])
  length   = 40
  # Letters and digits only: the passwords are placed in connection URLs as they are.
  special = false
}

# gamemod_owner runs the migrations and owns the schema; gamemod_app is what the services connect
# as. Cloud SQL makes both members of cloudsqlsuperuser: the one-time setup in README.md takes
# the app role out of it, so row-level security holds for it (the app refuses to start otherwise).
resource "google_sql_user" "owner" {
  name     = "gamemod_owner"
  instance = google_sql_database_instance.primary.name
  password = random_password.db["owner"].result
}

resource "google_sql_user" "app" {
  name     = "gamemod_app"
  instance = google_sql_database_instance.primary.name
  password = random_password.db["app"].result
}

locals {
  pg_primary = google_sql_database_instance.primary.private_ip_address
  pg_replica = google_sql_database_instance.analytics.private_ip_address
  # TLS to Cloud SQL, its server certificate checked against the instance's own CA (mounted from
  # the service-ca secret). verify-ca, not verify-full: the certificate names the instance, not
  # the private address the services dial.
  pg_tls = "uselibpqcompat=true&sslmode=verify-ca&sslrootcert=${local.ca_file}"

  database_url           = "postgres://gamemod_app:${random_password.db["app"].result}@${local.pg_primary}:5432/gamemod?${local.pg_tls}"
  migration_database_url = "postgres://gamemod_owner:${random_password.db["owner"].result}@${local.pg_primary}:5432/gamemod?${local.pg_tls}"
  analytics_database_url = "postgres://gamemod_app:${random_password.db["app"].result}@${local.pg_replica}:5432/gamemod?${local.pg_tls}"
}
