# Secret Manager holds every secret the services read; Cloud Run passes them in as environment
# variables (or files) by reference, so no secret value is in a service definition.
#
# Generated here (their values are in the Terraform state, which is why the state bucket is
# private): the database and Redis URLs with their passwords, SECRET_KEY, the storage HMAC key.
# Supplied by the operator with `gcloud secrets versions add` (never in Terraform or tfvars):
# the Discord bot token, the OAuth2 client secret and, when used, the outbound SMTP URL.
locals {
  generated_secrets = {
    "secret-key"             = random_bytes.secret_key.base64
    "database-url"           = local.database_url
    "migration-database-url" = local.migration_database_url
    "analytics-database-url" = local.analytics_database_url
    "redis-url"              = local.redis_url
    "s3-access-key-id"       = google_storage_hmac_key.storage.access_id
    "s3-secret-access-key"   = google_storage_hmac_key.storage.secret
    "postgres-password"      = random_password.db["postgres"].result
    # Not secret, but Cloud Run mounts files only from secrets: the CAs of Cloud SQL and
    # Memorystore, which the services trust for TLS to them.
    "service-ca" = join("\n", concat(
      [for c in google_sql_database_instance.primary.server_ca_cert : c.cert],
      [for c in google_sql_database_instance.analytics.server_ca_cert : c.cert],
      [for c in google_redis_instance.main.server_ca_certs : c.cert],
    ))
    # The metrics sidecar's scrape configuration (monitoring.tf), also mounted as a file.
    "metrics-scrape-config" = local.metrics_scrape_config
  }

  # The names, spelled out: the values above are sensitive, and for_each must not depend on them.
  generated_secret_names = toset([
    "secret-key", "database-url", "migration-database-url", "analytics-database-url", "redis-url",
    "s3-access-key-id", "s3-secret-access-key", "postgres-password", "service-ca", "metrics-scrape-config",
  ])

  operator_secrets = concat(
    ["discord-token", "discord-client-secret"],
    var.smtp_outbound_enabled ? ["smtp-outbound-url"] : [],
  )

  # Which identity reads which secret: each only what its role needs (run-env.tf).
  secret_readers = {
    for who, env in local.secret_env : who => distinct(concat(values(env), local.secret_files[who]))
  }

  secret_grants = merge([
    for who, names in local.secret_readers : {
      for name in names : "${who}/${name}" => { who = who, name = name }
    }
  ]...)
}

resource "random_bytes" "secret_key" {
  # SECRET_KEY: 32 random bytes, base64 (lib/secret-key.ts).
  length = 32
}

resource "google_secret_manager_secret" "generated" {
  for_each  = local.generated_secret_names
  secret_id = "${local.prefix}-${each.value}"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

resource "google_secret_manager_secret_version" "generated" {
  for_each    = local.generated_secret_names
  secret      = google_secret_manager_secret.generated[each.value].id
  secret_data = local.generated_secrets[each.value]
}

resource "google_secret_manager_secret" "operator" {
  for_each  = toset(local.operator_secrets)
  secret_id = "${local.prefix}-${each.value}"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

locals {
  secret_ids = merge(
    { for k, s in google_secret_manager_secret.generated : k => s.secret_id },
    { for k, s in google_secret_manager_secret.operator : k => s.secret_id },
  )
  secret_resource_ids = merge(
    { for k, s in google_secret_manager_secret.generated : k => s.id },
    { for k, s in google_secret_manager_secret.operator : k => s.id },
  )
}

resource "google_secret_manager_secret_iam_member" "readers" {
  for_each  = local.secret_grants
  secret_id = local.secret_resource_ids[each.value.name]
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime[each.value.who].email}"
}
