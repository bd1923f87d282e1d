# A private network: Cloud SQL and Memorystore have no public address and are reached from Cloud
# Run through Direct VPC egress (no connector VMs to run or pay for).
resource "google_compute_network" "vpc" {
  name                    = "${local.prefix}-vpc"
  auto_create_subnetworks = false
  depends_on              = [google_project_service.apis]
}

# Cloud Run instances take their addresses from here: a /24 leaves room for the maximum
# instances of every service during a rollout (each revision's instances hold addresses).
resource "google_compute_subnetwork" "run" {
  name                     = "${local.prefix}-run"
  network                  = google_compute_network.vpc.id
  region                   = var.region
  ip_cidr_range            = var.run_subnet_cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_10_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Private services access: the range Google's managed services (Cloud SQL, Memorystore) take
# their private addresses from, peered into the VPC.
resource "google_compute_global_address" "services" {
  name          = "${local.prefix}-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 20
  network       = google_compute_network.vpc.id
}

resource "google_service_networking_connection" "services" {
  network                 = google_compute_network.vpc.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.services.name]
}
