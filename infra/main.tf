locals {
  # Every name derives from one prefix so two deployments (staging, production) fit in one project.
  prefix = var.name_prefix

  # The image every service and the migration job start from. The deploy workflow rolls new images
  # out itself (gcloud), so the services ignore later changes to it (see run-*.tf).
  image = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}/gamemod:${var.image_tag}"

  # The bot runs one Cloud Run service per group of shards: SHARD_COUNT in total, each service
  # SHARD_IDS "first-last" of its group. A group is one process; Discord allows one session per
  # shard, so each service runs exactly one instance.
  bot_groups = {
    for g in range(ceil(var.bot_shard_count / var.bot_shards_per_service)) :
    format("bot-%d", g) => format(
      "%d-%d",
      g * var.bot_shards_per_service,
      min((g + 1) * var.bot_shards_per_service, var.bot_shard_count) - 1,
    )
  }

  public_url = var.public_url != "" ? var.public_url : google_cloud_run_v2_service.api.uri
}

data "google_project" "this" {
  project_id = var.project_id
}

# The APIs this deployment uses. Left enabled on destroy: other things in the project may use them.
resource "google_project_service" "apis" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "compute.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "redis.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
    "storage.googleapis.com",
  ])
  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

resource "google_artifact_registry_repository" "images" {
  repository_id = "${local.prefix}-images"
  location      = var.region
  format        = "DOCKER"
  description   = "GameMod container images, pushed by the deploy workflow"

  docker_config {
    # A tag names one build: a re-push under the same tag can't swap what a revision runs.
    immutable_tags = true
  }

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.image_keep_count
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }

  depends_on = [google_project_service.apis]
}
