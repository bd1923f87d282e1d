import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { envSchema } from '../../lib/config.js';
import {
  cloudSql,
  defaultServiceAccounts,
  first,
  infraDir,
  leastPrivilege,
  loadTf,
  merge,
  objectEntries,
  parseTf,
  path,
  plainSecrets,
  publicBuckets,
  RULES,
  redisEviction,
  root,
  type Tf,
  undocumentedVariables,
  unpinnedProviders,
} from './support.js';

/**
 * The Terraform in infra/ held to the policies a scanner such as checkov would apply, and to the
 * deployment the design describes. Each rule is also fed a bad snippet and must fail on it.
 */

let tf: Tf;
beforeAll(async () => {
  tf = await loadTf();
});

const snippet = async (hcl: string) => merge([await parseTf('snippet.tf', hcl)]);

/** An HCL expression as hcl2json gives it: `ref('var.x')` is the string "$" "{var.x}". */
const ref = (expr: string) => `$${'{'}${expr}}`;

/** The same problems in any order (the parser gives blocks sorted by name). */
const sameProblems = (got: string[], want: string[]) => expect([...got].sort()).toEqual([...want].sort());

const service = (name: string) => tf.resources.get('google_cloud_run_v2_service')?.get(name);

describe('infra/ passes every policy', () => {
  for (const [name, rule] of Object.entries(RULES)) {
    it(name, () => {
      expect(rule(tf)).toEqual([]);
    });
  }
});

describe('each policy fails on what it forbids', () => {
  const pinnedTerraform = `
    terraform {
      required_version = ">= 1.6.0, < 2.0.0"
      required_providers {
        google = { source = "hashicorp/google", version = "~> 7.0" }
      }
    }`;

  it('public buckets', async () => {
    const good = await snippet(`
      resource "google_storage_bucket" "ok" {
        name = "b"
        uniform_bucket_level_access = true
        public_access_prevention    = "enforced"
      }`);
    expect(publicBuckets(good)).toEqual([]);

    const bad = await snippet(`
      resource "google_storage_bucket" "files" {
        name = "b"
        uniform_bucket_level_access = false
        public_access_prevention    = "inherited"
      }
      resource "google_storage_bucket_iam_member" "world" {
        bucket = google_storage_bucket.files.name
        role   = "roles/storage.objectViewer"
        member = "allUsers"
      }
      resource "google_storage_bucket_acl" "acl" {
        bucket      = "b"
        role_entity = ["READER:allUsers"]
      }`);
    sameProblems(publicBuckets(bad), [
      'google_storage_bucket.files: uniform_bucket_level_access must be true',
      'google_storage_bucket.files: public_access_prevention must be "enforced"',
      'google_storage_bucket_iam_member.world: grants a bucket role to everyone',
      'google_storage_bucket_acl.acl: a public ACL',
    ]);
    // Leaving the settings out is as bad as setting them wrong.
    expect(
      publicBuckets(await snippet('resource "google_storage_bucket" "bare" { name = "b" }')),
    ).toHaveLength(2);
  });

  it('Cloud SQL without a private IP, backups or PITR', async () => {
    const bad = await snippet(`
      resource "google_sql_database_instance" "db" {
        database_version = "POSTGRES_16"
        settings {
          tier = "db-f1-micro"
          ip_configuration {
            ipv4_enabled = true
            authorized_networks { value = "0.0.0.0/0" }
          }
          backup_configuration {
            enabled = true
          }
        }
      }
      resource "google_sql_database_instance" "bare" {
        database_version = "POSTGRES_16"
        settings { tier = "db-f1-micro" }
      }`);
    sameProblems(cloudSql(bad), [
      'google_sql_database_instance.db: ipv4_enabled must be false (private IP only)',
      'google_sql_database_instance.db: no private_network',
      'google_sql_database_instance.db: authorized network 0.0.0.0/0 is the whole internet',
      'google_sql_database_instance.db: point_in_time_recovery_enabled must be true',
      'google_sql_database_instance.bare: ipv4_enabled must be false (private IP only)',
      'google_sql_database_instance.bare: no private_network',
      'google_sql_database_instance.bare: automated backups must be enabled',
      'google_sql_database_instance.bare: point_in_time_recovery_enabled must be true',
    ]);
  });

  it('Redis with an evicting policy', async () => {
    const bad = await snippet(`
      resource "google_redis_instance" "lru" {
        memory_size_gb = 1
        redis_configs = { "maxmemory-policy" = "allkeys-lru" }
      }
      resource "google_redis_instance" "unset" {
        memory_size_gb = 1
      }`);
    sameProblems(redisEviction(bad), [
      'google_redis_instance.lru: maxmemory-policy is "allkeys-lru", not "noeviction"',
      'google_redis_instance.unset: maxmemory-policy is unset (evicting by default), not "noeviction"',
    ]);
    const good = await snippet(`
      resource "google_redis_instance" "ok" {
        redis_configs = { "maxmemory-policy" = "noeviction" }
      }`);
    expect(redisEviction(good)).toEqual([]);
  });

  it('secrets in plain variables and plain environment values', async () => {
    const bad = await snippet(`
      variable "discord_token" {
        description = "The bot token"
        type        = string
      }
      variable "db_password" {
        description = "The database password"
        type        = string
        sensitive   = true
        default     = "hunter2"
      }
      locals {
        more_env = { DISCORD_CLIENT_SECRET = var.discord_token }
      }
      resource "google_cloud_run_v2_service" "api" {
        template {
          service_account = "api@p.iam.gserviceaccount.com"
          containers {
            image = "x"
            env {
              name  = "SECRET_KEY"
              value = "c2VjcmV0"
            }
            env {
              name  = "SOME_URL"
              value = "postgres://app:pw@10.0.0.3/db"
            }
            dynamic "env" {
              for_each = merge(local.more_env, { LOG_LEVEL = "info" })
              content {
                name  = env.key
                value = env.value
              }
            }
          }
        }
      }
      resource "google_cloud_run_v2_job" "migrate" {
        template {
          template {
            service_account = "m@p.iam.gserviceaccount.com"
            containers {
              image = "x"
              env {
                name  = "MIGRATION_DATABASE_URL"
                value = var.db_password
              }
            }
          }
        }
      }`);
    sameProblems(plainSecrets(bad), [
      'var.discord_token: holds a secret but is not sensitive = true',
      'var.db_password: a secret with a default value in the code',
      'google_cloud_run_v2_service.api container x: SECRET_KEY is a plain value; use value_source.secret_key_ref',
      'google_cloud_run_v2_service.api container x: SOME_URL carries credentials in a plain URL',
      'google_cloud_run_v2_service.api container x: DISCORD_CLIENT_SECRET is a plain value; use value_source.secret_key_ref',
      'google_cloud_run_v2_job.migrate container x: MIGRATION_DATABASE_URL is a plain value; use value_source.secret_key_ref',
    ]);

    // A dynamic env whose names can't be read is refused rather than trusted.
    const opaque = await snippet(`
      resource "google_cloud_run_v2_service" "api" {
        template {
          containers {
            image = "x"
            dynamic "env" {
              for_each = var.env
              content {
                name  = env.key
                value = env.value
              }
            }
          }
        }
      }`);
    expect(plainSecrets(opaque)).toEqual([
      `google_cloud_run_v2_service.api container x: a dynamic env whose names can't be read (${ref('var.env')})`,
    ]);

    const good = await snippet(`
      resource "google_cloud_run_v2_service" "api" {
        template {
          containers {
            image = "x"
            env {
              name = "SECRET_KEY"
              value_source {
                secret_key_ref {
                  secret  = "secret-key"
                  version = "latest"
                }
              }
            }
          }
        }
      }`);
    expect(plainSecrets(good)).toEqual([]);
  });

  it('services running as the default compute service account', async () => {
    const bad = await snippet(`
      data "google_compute_default_service_account" "default" {}
      resource "google_cloud_run_v2_service" "none" {
        template {
          containers { image = "x" }
        }
      }
      resource "google_cloud_run_v2_service" "compute" {
        template {
          service_account = "123456789-compute@developer.gserviceaccount.com"
          containers { image = "x" }
        }
      }
      resource "google_cloud_run_v2_job" "job" {
        template {
          template {
            service_account = data.google_compute_default_service_account.default.email
            containers { image = "x" }
          }
        }
      }`);
    sameProblems(defaultServiceAccounts(bad), [
      'google_cloud_run_v2_service.none: no service_account: it would run as the default compute service account',
      'google_cloud_run_v2_service.compute: runs as the default compute service account',
      'google_cloud_run_v2_job.job: runs as the default compute service account',
    ]);
  });

  it('unpinned provider versions', async () => {
    expect(unpinnedProviders(await snippet(pinnedTerraform))).toEqual([]);
    const bad = await snippet(`
      terraform {
        required_version = ">= 1.6"
        required_providers {
          google = { source = "hashicorp/google", version = ">= 5.0" }
          random = { source = "hashicorp/random" }
        }
      }
      resource "tls_private_key" "k" { algorithm = "ED25519" }`);
    sameProblems(unpinnedProviders(bad), [
      'terraform.required_version ">= 1.6" has no upper bound',
      'provider google: version ">= 5.0" is not pinned (use "~> x.y")',
      'provider random: version null is not pinned (use "~> x.y")',
      'provider tls is used but not in required_providers',
    ]);
    expect(unpinnedProviders(await snippet('resource "google_storage_bucket" "b" {}'))).toEqual([
      'no terraform block',
      'terraform.required_version is not set',
      'provider google is used but not in required_providers',
    ]);
  });

  it('more privilege than a role needs', async () => {
    const bad = await snippet(`
      resource "google_project_iam_member" "lazy" {
        project = "p"
        role    = "roles/editor"
        member  = "serviceAccount:api@p.iam.gserviceaccount.com"
      }
      resource "google_cloud_run_v2_service" "api" {
        ingress = "INGRESS_TRAFFIC_ALL"
        template {
          service_account = google_service_account.app.email
          containers { image = "x" }
        }
      }
      resource "google_cloud_run_v2_service" "workers" {
        ingress = "INGRESS_TRAFFIC_INTERNAL_ONLY"
        template {
          service_account = google_service_account.app.email
          containers { image = "x" }
        }
      }
      resource "google_cloud_run_v2_service_iam_member" "open" {
        name   = google_cloud_run_v2_service.workers.name
        role   = "roles/run.invoker"
        member = "allUsers"
      }`);
    sameProblems(leastPrivilege(bad), [
      'google_project_iam_member.lazy: grants the basic role roles/editor',
      'google_cloud_run_v2_service.workers: shares its service account with google_cloud_run_v2_service.api',
      'google_cloud_run_v2_service_iam_member.open: opens workers to everyone, but it takes no outside traffic',
    ]);
  });

  it('undocumented variables', async () => {
    const bad = await snippet(`
      variable "region" {}
      variable "tier" {
        type        = string
        description = "tier"
      }`);
    sameProblems(undocumentedVariables(bad), [
      'var.region: no description',
      'var.region: no type',
      'var.tier: no description',
    ]);
  });
});

describe('the managed deployment', () => {
  it('runs api, workers and one always-on bot service per shard group, none throttled in the background', () => {
    const api = service('api');
    const workers = service('workers');
    const bot = service('bot');
    expect(api && workers && bot).toBeTruthy();
    expect(path(api, 'template', 'containers', 'resources')?.cpu_idle).toBe(false);
    expect(path(workers, 'template', 'containers', 'resources')?.cpu_idle).toBe(false);
    expect(path(workers, 'template', 'scaling')?.max_instance_count).toBe(ref('var.workers_max_instances'));
    expect(bot?.for_each).toBe(ref('local.bot_groups'));
    expect(path(bot, 'template', 'scaling')).toMatchObject({ min_instance_count: 1, max_instance_count: 1 });
    expect(path(bot, 'template', 'containers', 'resources')?.cpu_idle).toBe(false);
    // Only the API is reachable from outside.
    expect(api?.ingress).toBe('INGRESS_TRAFFIC_ALL');
    expect(workers?.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_ONLY');
    expect(bot?.ingress).toBe('INGRESS_TRAFFIC_INTERNAL_ONLY');
  });

  it('gives each service only its own role and shard ids', () => {
    const roles = objectEntries(tf, tf.locals.plain_env);
    expect(roles && [...roles.keys()].sort()).toEqual(['api', 'bot', 'migrate', 'workers']);
    for (const role of ['api', 'workers', 'bot']) {
      const env = objectEntries(tf, (tf.locals.plain_env as Record<string, unknown>)[role]);
      expect(env?.get('ROLES')).toBe(`"${role}"`);
    }
    const botEnv = path(service('bot'), 'template', 'containers', 'dynamic', 'env');
    expect(objectEntries(tf, botEnv?.for_each)?.get('SHARD_IDS')).toBe('each.value');
  });

  it('passes only settings the app knows (lib/config.ts), each secret from a secret that exists', () => {
    const known = new Set([...Object.keys(envSchema.shape), 'NODE_EXTRA_CA_CERTS']);
    const plain = tf.locals.plain_env as Record<string, unknown>;
    const secret = tf.locals.secret_env as Record<string, unknown>;
    const generated = Object.keys(tf.locals.generated_secrets as object);
    // The for_each set is spelled out apart from the (sensitive) values: the two must agree.
    const named = [...String(tf.locals.generated_secret_names).matchAll(/"([a-z0-9-]+)"/g)].map((m) => m[1]);
    expect([...named].sort()).toEqual([...generated].sort());
    const operator = [...String(tf.locals.operator_secrets).matchAll(/"([a-z0-9-]+)"/g)].map((m) => m[1]);
    const secrets = new Set([...generated, ...operator]);
    for (const role of ['api', 'workers', 'bot', 'migrate']) {
      const names = [...(objectEntries(tf, plain[role])?.keys() ?? [])];
      const refs = objectEntries(tf, secret[role]);
      expect(names.length, role).toBeGreaterThan(2);
      expect(refs?.size, role).toBeGreaterThan(2);
      for (const n of [...names, ...(refs?.keys() ?? [])]) expect(known.has(n), `${role}: ${n}`).toBe(true);
      for (const s of refs?.values() ?? [])
        expect(secrets.has(String(s).replace(/"/g, '')), `${role}: ${s}`).toBe(true);
    }
    // Production needs SECRET_KEY in every role, the migration job included (lib/config.ts), and
    // without DATABASE_URL or REDIS_URL a process starts its own embedded one (lib/local-stack).
    for (const role of ['api', 'workers', 'bot', 'migrate']) {
      const refs = objectEntries(tf, secret[role]);
      for (const name of ['DATABASE_URL', 'REDIS_URL'])
        expect(refs?.has(name), `${role}: ${name}`).toBe(true);
    }
    for (const role of ['api', 'workers', 'bot', 'migrate'])
      expect(objectEntries(tf, secret[role])?.has('SECRET_KEY')).toBe(true);
  });

  it('has a migration job as the owner role, never retried blindly', () => {
    const job = tf.resources.get('google_cloud_run_v2_job')?.get('migrate');
    const task = path(job, 'template', 'template');
    expect(task?.max_retries).toBe(0);
    expect(path(task, 'containers')?.args).toEqual(['dist/db/migrate-cli.js']);
    expect(
      objectEntries(tf, (tf.locals.secret_env as Record<string, unknown>).migrate)?.has(
        'MIGRATION_DATABASE_URL',
      ),
    ).toBe(true);
  });

  it('has Cloud SQL with an analytics read replica, and Redis with persistence', () => {
    const sql = tf.resources.get('google_sql_database_instance');
    expect(sql?.get('analytics')?.master_instance_name).toBe(
      ref('google_sql_database_instance.primary.name'),
    );
    const redis = tf.resources.get('google_redis_instance')?.get('main');
    expect(path(redis, 'persistence_config')?.persistence_mode).toBe('RDB');
    expect(redis?.tier).toBe('STANDARD_HA');
    const bucket = tf.resources.get('google_storage_bucket')?.get('files');
    expect((bucket?.lifecycle_rule as unknown[] | undefined)?.length).toBeGreaterThan(0);
    expect(tf.resources.get('google_artifact_registry_repository')?.size).toBe(1);
  });

  it('alerts on every signal the issue names, over metrics the app really exports', () => {
    const alerts = JSON.parse(readFileSync(join(infraDir, 'alerts.json'), 'utf8')).alerts as {
      id: string;
      query: string;
      rollback: boolean;
    }[];
    expect(alerts.map((a) => a.id)).toEqual(
      expect.arrayContaining([
        'http-5xx-rate',
        'http-p99-latency',
        'queue-depth',
        'queue-age',
        'sla-breach-rate',
        'shard-disconnects',
        'outbox-lag',
      ]),
    );
    const source = [
      'api/plugins/metrics.ts',
      'workers/queues.ts',
      'workers/sla.ts',
      'workers/outbox-relay.ts',
      'bot/shard-start.ts',
    ]
      .map((f) => readFileSync(join(root, f), 'utf8'))
      .join('\n');
    for (const a of alerts) {
      const metrics = [...a.query.matchAll(/\b(gamemod_[a-z_]+)/g)].map((m) =>
        (m[1] ?? '').replace(/_(bucket|count|sum)$/, ''),
      );
      expect(metrics.length, a.id).toBeGreaterThan(0);
      for (const m of metrics) expect(source, `${a.id}: ${m}`).toContain(`'${m}'`);
      expect(a.query, a.id).toContain('{{threshold}}');
    }
    // The alert policies are made from that file, and the log-based ones and the uptime check exist.
    const policies = tf.resources.get('google_monitoring_alert_policy');
    expect(policies?.get('metrics')?.for_each).toBe(ref('local.alert_rules'));
    expect(String(tf.locals.alert_rules)).toContain('alerts.json');
    expect([...(policies?.keys() ?? [])]).toEqual(
      expect.arrayContaining(['shard_disconnects', 'error_logs', 'uptime']),
    );
    expect(tf.resources.get('google_logging_metric')?.size).toBeGreaterThanOrEqual(2);
    expect(
      path(tf.resources.get('google_monitoring_uptime_check_config')?.get('health'), 'http_check')?.path,
    ).toBe('/health');
  });

  it('the bot logs the lines the shard log metric counts', () => {
    const filter = String(tf.resources.get('google_logging_metric')?.get('shard_disconnects')?.filter);
    const bot = readFileSync(join(root, 'bot/bot.ts'), 'utf8');
    const lines = [...filter.matchAll(/jsonPayload\.msg=\\?"([^"\\]+)/g)].map((m) => m[1]);
    expect(lines.length).toBe(2);
    for (const l of lines) expect(bot).toContain(`'${l}'`);
  });

  it('terraform.tfvars.example sets only declared variables, and every required one', async () => {
    const example = (
      await parseTf('terraform.tfvars', readFileSync(join(infraDir, 'terraform.tfvars.example'), 'utf8'))
    ).json;
    for (const k of Object.keys(example)) expect(tf.variables.has(k), k).toBe(true);
    for (const [name, v] of tf.variables)
      if (!('default' in v)) expect(Object.keys(example), name).toContain(name);
  });

  it('keeps the compose roles file where docker-compose.yml mounts it', () => {
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain('./infra/compose/postgres-init:/docker-entrypoint-initdb.d:ro');
    expect(readFileSync(join(infraDir, 'compose/postgres-init/01-roles.sql'), 'utf8')).toContain(
      'gamemod_app',
    );
    expect(first(tf.terraform)).toBeTruthy();
  });
});
