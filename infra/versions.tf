# Terraform and provider versions. Every provider is pinned to one major version so a new major
# (with its breaking changes) is taken on purpose; commit the .terraform.lock.hcl that
# `terraform init` writes so every run uses the same provider builds.
terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # State holds generated database passwords and the storage HMAC secret: keep it in a private,
  # versioned bucket (see README.md, "State"). The bucket is given at init time:
  #   terraform init -backend-config="bucket=<state bucket>"
  backend "gcs" {
    prefix = "gamemod"
  }
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app        = "gamemod"
    managed-by = "terraform"
  }
}
