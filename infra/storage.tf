# Attachments and transcripts. The app speaks S3 (STORAGE_DRIVER=s3), which Cloud Storage serves
# through its XML API with an HMAC key; only the storage service account holds the bucket, and
# its key reaches the services through Secret Manager.
resource "google_storage_bucket" "files" {
  name     = "${var.project_id}-${local.prefix}-files"
  location = var.region

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # Files the app replaces or deletes stay recoverable for a while, then go.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.files_noncurrent_days
    }
    action {
      type = "Delete"
    }
  }

  # Uploads the app started but never finished.
  lifecycle_rule {
    condition {
      age = 7
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  # Older files are read rarely (transcripts of closed tickets): a cheaper class.
  lifecycle_rule {
    condition {
      age                   = var.files_nearline_after_days
      matches_storage_class = ["STANDARD"]
    }
    action {
      type          = "SetStorageClass"
      storage_class = "NEARLINE"
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "storage" {
  account_id   = "${local.prefix}-storage"
  display_name = "GameMod file storage (HMAC key for the S3-compatible API)"
}

resource "google_storage_bucket_iam_member" "storage_objects" {
  bucket = google_storage_bucket.files.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.storage.email}"
}

resource "google_storage_hmac_key" "storage" {
  service_account_email = google_service_account.storage.email
}
