# One service account per role, none of them the project's default compute account (which holds
# Editor on the whole project). Each gets only: writing its logs and metrics, and reading its own
# secrets (secrets.tf). Files go through the storage account's HMAC key (storage.tf), so no
# runtime account holds the bucket either.
resource "google_service_account" "runtime" {
  for_each     = toset(["api", "workers", "bot", "migrate"])
  account_id   = "${local.prefix}-${each.value}"
  display_name = "GameMod ${each.value}"
  description  = "Runs the GameMod ${each.value} ${each.value == "migrate" ? "job" : "service"} on Cloud Run"
}

locals {
  runtime_project_roles = {
    api     = ["roles/logging.logWriter", "roles/monitoring.metricWriter"]
    workers = ["roles/logging.logWriter", "roles/monitoring.metricWriter"]
    bot     = ["roles/logging.logWriter", "roles/monitoring.metricWriter"]
    migrate = ["roles/logging.logWriter"]
  }
  runtime_role_grants = merge([
    for who, roles in local.runtime_project_roles : {
      for role in roles : "${who}/${role}" => { who = who, role = role }
    }
  ]...)
}

resource "google_project_iam_member" "runtime" {
  for_each = local.runtime_role_grants
  project  = var.project_id
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.runtime[each.value.who].email}"
}

# The deploy workflow's identity. GitHub Actions signs in through Workload Identity Federation
# (no key file to leak), only from the named repository's main branch.
resource "google_service_account" "deployer" {
  account_id   = "${local.prefix}-deployer"
  display_name = "GameMod deploy workflow"
}

resource "google_iam_workload_identity_pool" "github" {
  workload_identity_pool_id = "${local.prefix}-github"
  display_name              = "GitHub Actions"
}

resource "google_iam_workload_identity_pool_provider" "github" {
  workload_identity_pool_id          = google_iam_workload_identity_pool.github.workload_identity_pool_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub Actions OIDC"

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
  }
  attribute_condition = "assertion.repository == \"${var.github_repository}\" && assertion.ref == \"refs/heads/main\""

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
}

resource "google_service_account_iam_member" "deployer_wif" {
  service_account_id = google_service_account.deployer.name
  role               = "roles/iam.workloadIdentityUser"
  member             = "principalSet://iam.googleapis.com/${google_iam_workload_identity_pool.github.name}/attribute.repository/${var.github_repository}"
}

# Pushes images to this repository only.
resource "google_artifact_registry_repository_iam_member" "deployer_push" {
  repository = google_artifact_registry_repository.images.name
  location   = google_artifact_registry_repository.images.location
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.deployer.email}"
}

# Deploys revisions, moves traffic, runs the migration job, and reads the alerts it rolls back on.
resource "google_project_iam_member" "deployer" {
  for_each = toset(["roles/run.developer", "roles/monitoring.viewer"])
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.deployer.email}"
}

# A revision runs as its role's account: deploying one needs actAs on that account alone.
resource "google_service_account_iam_member" "deployer_act_as" {
  for_each           = google_service_account.runtime
  service_account_id = each.value.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.deployer.email}"
}
