# What each role is given: plain settings, secrets by reference, and files mounted from secrets.
# The names are the app's own variables (lib/config.ts); nothing secret is in a plain value.
locals {
  ca_dir  = "/etc/gamemod/ca"
  ca_file = "${local.ca_dir}/service-ca.pem"
  # Every role serves /metrics on its own listener here; the sidecar scrapes it (monitoring.tf).
  metrics_port = 9464

  api_url = "https://${local.prefix}-api-${data.google_project.this.number}.${var.region}.run.app"

  common_env = {
    NODE_ENV               = "production"
    LOG_LEVEL              = var.log_level
    SEED_DEMO              = "false"
    EMBEDDED_INSTALL       = "never"
    PUBLIC_URL             = var.public_url != "" ? var.public_url : local.api_url
    DISCORD_APPLICATION_ID = var.discord_application_id
    STORAGE_DRIVER         = "s3"
    S3_ENDPOINT            = "https://storage.googleapis.com"
    S3_REGION              = "auto"
    S3_BUCKET              = google_storage_bucket.files.name
    S3_FORCE_PATH_STYLE    = "true"
    # Trust the Cloud SQL and Memorystore CAs for TLS (Redis over rediss://).
    NODE_EXTRA_CA_CERTS = local.ca_file
    METRICS_PORT        = tostring(local.metrics_port)
  }

  plain_env = {
    api = merge(local.common_env, {
      ROLES             = "api"
      HOST              = "0.0.0.0"
      # One proxy in front (Google's front end): the client is the address it put in
      # X-Forwarded-For. Nothing reaches the service but through it. ("true" would believe the
      # leftmost entry, which the client can write.)
      TRUST_PROXY       = "1"
      METRICS_HOST      = "127.0.0.1"
      DATABASE_POOL_MAX = tostring(var.api_db_pool_max)
    })
    workers = merge(local.common_env, {
      ROLES              = "workers"
      METRICS_HOST       = "0.0.0.0"
      DATABASE_POOL_MAX  = tostring(var.workers_db_pool_max)
      WORKER_CONCURRENCY = tostring(var.worker_concurrency)
    })
    # SHARD_IDS is added per service (run-services.tf).
    bot = merge(local.common_env, {
      ROLES             = "bot"
      METRICS_HOST      = "0.0.0.0"
      SHARD_COUNT       = tostring(var.bot_shard_count)
      DATABASE_POOL_MAX = tostring(var.bot_db_pool_max)
    })
    migrate = {
      NODE_ENV            = "production"
      LOG_LEVEL           = var.log_level
      EMBEDDED_INSTALL    = "never"
      NODE_EXTRA_CA_CERTS = local.ca_file
    }
  }

  # Variable name => secret (secrets.tf), read as its latest version.
  storage_secret_env = {
    S3_ACCESS_KEY_ID     = "s3-access-key-id"
    S3_SECRET_ACCESS_KEY = "s3-secret-access-key"
  }
  secret_env = {
    api = merge(local.storage_secret_env, {
      SECRET_KEY             = "secret-key"
      DATABASE_URL           = "database-url"
      ANALYTICS_DATABASE_URL = "analytics-database-url"
      REDIS_URL              = "redis-url"
      DISCORD_CLIENT_SECRET  = "discord-client-secret"
    })
    workers = merge(local.storage_secret_env, {
      SECRET_KEY    = "secret-key"
      DATABASE_URL  = "database-url"
      REDIS_URL     = "redis-url"
      DISCORD_TOKEN = "discord-token"
    }, var.smtp_outbound_enabled ? { SMTP_OUTBOUND_URL = "smtp-outbound-url" } : {})
    bot = merge(local.storage_secret_env, {
      SECRET_KEY    = "secret-key"
      DATABASE_URL  = "database-url"
      REDIS_URL     = "redis-url"
      DISCORD_TOKEN = "discord-token"
    })
    # The job is checked like any role: SECRET_KEY is required in production, and without
    # DATABASE_URL and REDIS_URL the process would look for an embedded PostgreSQL and Redis.
    migrate = {
      SECRET_KEY             = "secret-key"
      DATABASE_URL           = "database-url"
      REDIS_URL              = "redis-url"
      MIGRATION_DATABASE_URL = "migration-database-url"
    }
  }

  # Secrets mounted as files rather than variables.
  secret_files = {
    api     = ["service-ca", "metrics-scrape-config"]
    workers = ["service-ca", "metrics-scrape-config"]
    bot     = ["service-ca", "metrics-scrape-config"]
    migrate = ["service-ca"]
  }
}
