# Metrics: each service's /metrics (on METRICS_PORT) is scraped by Google's Managed Service for
# Prometheus sidecar into Cloud Monitoring; alert policies query it in PromQL (alerts.json, shared
# with the deploy workflow's canary gate). Logs: log-based metrics over the JSON logs. Plus an
# uptime check on the public /health.
locals {
  metrics_scrape_config = yamlencode({
    apiVersion = "monitoring.googleapis.com/v1beta"
    kind       = "RunMonitoring"
    metadata   = { name = "gamemod" }
    spec = {
      endpoints = [{ port = local.metrics_port, path = "/metrics", interval = "30s" }]
    }
  })

  alert_rules = {
    for a in jsondecode(file("${path.module}/alerts.json")).alerts : a.id => merge(a, {
      query = replace(a.query, "{{threshold}}", tostring(lookup(var.alert_thresholds, a.id, a.threshold)))
    })
  }

  notification_channels = [for c in google_monitoring_notification_channel.email : c.name]

  # The services' log entries (pino JSON: `level` is numeric, 50 = error).
  run_logs = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=~\"^${local.prefix}-\""
}

resource "google_monitoring_notification_channel" "email" {
  for_each     = toset(var.alert_emails)
  display_name = "GameMod alerts: ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }
}

resource "google_monitoring_alert_policy" "metrics" {
  for_each     = local.alert_rules
  display_name = "GameMod ${local.prefix}: ${each.value.title}"
  combiner     = "OR"
  severity     = each.value.rollback ? "CRITICAL" : "WARNING"

  conditions {
    display_name = each.value.title
    condition_prometheus_query_language {
      query               = each.value.query
      duration            = each.value.duration
      evaluation_interval = "60s"
    }
  }

  # The deploy workflow's canary gate rolls back on the rules labelled so.
  user_labels = {
    app      = "gamemod"
    rollback = tostring(each.value.rollback)
  }

  documentation {
    content   = "See infra/README.md, \"Alerts\", for what ${each.key} means and what to look at first."
    mime_type = "text/markdown"
  }

  notification_channels = local.notification_channels
  alert_strategy {
    auto_close = "1800s"
  }

  depends_on = [google_project_service.apis]
}

# Shard gateway trouble as the bot logs it: a connection error, or a resume after a drop.
resource "google_logging_metric" "shard_disconnects" {
  name   = "${local.prefix}/shard_disconnects"
  filter = "${local.run_logs} AND (jsonPayload.msg=\"shard connection error\" OR jsonPayload.msg=\"shard resumed\")"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "service"
      value_type = "STRING"
    }
  }
  label_extractors = {
    service = "EXTRACT(resource.labels.service_name)"
  }
}

# Every error the services log (pino level 50 and above).
resource "google_logging_metric" "error_logs" {
  name   = "${local.prefix}/error_logs"
  filter = "${local.run_logs} AND jsonPayload.level>=50"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "service"
      value_type = "STRING"
    }
  }
  label_extractors = {
    service = "EXTRACT(resource.labels.service_name)"
  }
}

resource "google_monitoring_alert_policy" "shard_disconnects" {
  display_name = "GameMod ${local.prefix}: Bot shards dropping their gateway connection"
  combiner     = "OR"
  severity     = "WARNING"
  conditions {
    display_name = "shard disconnects per 10 minutes above ${var.shard_disconnects_per_10m}"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.shard_disconnects.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.shard_disconnects_per_10m
      duration        = "0s"
      aggregations {
        alignment_period     = "600s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
  notification_channels = local.notification_channels
  user_labels           = { app = "gamemod", rollback = "false" }
}

resource "google_monitoring_alert_policy" "error_logs" {
  display_name = "GameMod ${local.prefix}: Error logs"
  combiner     = "OR"
  severity     = "WARNING"
  conditions {
    display_name = "error log entries per 5 minutes above ${var.error_logs_per_5m}"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.error_logs.name}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.error_logs_per_5m
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.service"]
      }
    }
  }
  notification_channels = local.notification_channels
  user_labels           = { app = "gamemod", rollback = "false" }
}

resource "google_monitoring_uptime_check_config" "health" {
  display_name = "GameMod ${local.prefix}: GET /health"
  timeout      = "10s"
  period       = "60s"

  http_check {
    path         = "/health"
    port         = 443
    use_ssl      = true
    validate_ssl = true
    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = replace(local.common_env.PUBLIC_URL, "/^https?://([^/]+).*$/", "$1")
    }
  }
}

resource "google_monitoring_alert_policy" "uptime" {
  display_name = "GameMod ${local.prefix}: /health unreachable"
  combiner     = "OR"
  severity     = "CRITICAL"
  conditions {
    display_name = "uptime check failing from 2 or more regions"
    condition_threshold {
      filter          = "metric.type=\"monitoring.googleapis.com/uptime_check/check_passed\" AND resource.type=\"uptime_url\" AND metric.label.check_id=\"${google_monitoring_uptime_check_config.health.uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "120s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.host"]
      }
    }
  }
  notification_channels = local.notification_channels
  user_labels           = { app = "gamemod", rollback = "true" }
}
