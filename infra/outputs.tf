output "api_url" {
  description = "The api service's own address (map a custom domain to it and set public_url)."
  value       = google_cloud_run_v2_service.api.uri
}

output "public_url" {
  description = "PUBLIC_URL as the services are given it."
  value       = local.common_env.PUBLIC_URL
}

output "image_repository" {
  description = "Where the deploy workflow pushes images (IMAGE_REPOSITORY)."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "services" {
  description = "The Cloud Run services by role; the bot has one per shard group."
  value = {
    api     = google_cloud_run_v2_service.api.name
    workers = google_cloud_run_v2_service.workers.name
    bot     = [for s in google_cloud_run_v2_service.bot : s.name]
  }
}

output "bot_shard_groups" {
  description = "SHARD_IDS of each bot service."
  value       = local.bot_groups
}

output "migration_job" {
  description = "The Cloud Run job the deploy workflow runs before traffic moves."
  value       = google_cloud_run_v2_job.migrate.name
}

output "deployer_service_account" {
  description = "The deploy workflow's identity (GCP_SERVICE_ACCOUNT)."
  value       = google_service_account.deployer.email
}

output "workload_identity_provider" {
  description = "The provider the deploy workflow signs in through (GCP_WORKLOAD_IDENTITY_PROVIDER)."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "operator_secrets" {
  description = "Secrets whose values the operator adds (gcloud secrets versions add NAME --data-file=-)."
  value       = [for s in google_secret_manager_secret.operator : s.secret_id]
}

output "files_bucket" {
  description = "The attachments and transcripts bucket."
  value       = google_storage_bucket.files.name
}

output "database_instance" {
  description = "The Cloud SQL primary (for the one-time role setup in README.md)."
  value       = google_sql_database_instance.primary.connection_name
}
