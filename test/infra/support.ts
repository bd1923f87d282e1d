import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// Loaded untyped on purpose: the package's own .d.ts pulls the DOM library into the whole
// program (`/// <reference lib="dom" />`), which retypes fetch, FormData and Response for every
// other file. This is the one function used.
const { parse } = createRequire(import.meta.url)('@cdktf/hcl2json') as {
  parse(filename: string, contents: string): Promise<Record<string, unknown>>;
};

/**
 * Policy checks over the Terraform in infra/, parsed by HashiCorp's own HCL parser (built to
 * wasm) since no terraform binary or scanner installs here. hcl2json gives blocks as arrays of
 * objects and expressions as "${...}" strings; the rules read literal values and, where a value
 * comes from a local, follow the reference through the parsed locals.
 */

export const root = join(import.meta.dirname, '..', '..');
export const infraDir = join(root, 'infra');

type Json = Record<string, unknown>;
type Block = Json;

export interface TfFile {
  file: string;
  json: Json;
}

export interface Tf {
  files: TfFile[];
  /** type -> name -> the resource's body. */
  resources: Map<string, Map<string, Block>>;
  variables: Map<string, Block>;
  locals: Json;
  terraform: Block[];
}

export async function parseTf(file: string, text: string): Promise<TfFile> {
  return { file, json: (await parse(file, text)) as Json };
}

/** Every .tf file of a folder (not its subfolders, as Terraform reads a module). */
export async function loadTfDir(dir = infraDir): Promise<TfFile[]> {
  const names = readdirSync(dir).filter((f) => f.endsWith('.tf'));
  return Promise.all(names.map((f) => parseTf(f, readFileSync(join(dir, f), 'utf8'))));
}

export function merge(files: TfFile[]): Tf {
  const tf: Tf = { files, resources: new Map(), variables: new Map(), locals: {}, terraform: [] };
  for (const { json } of files) {
    for (const [type, byName] of Object.entries((json.resource ?? {}) as Record<string, Json>)) {
      const m = tf.resources.get(type) ?? new Map<string, Block>();
      for (const [name, bodies] of Object.entries(byName)) m.set(name, first(bodies) ?? {});
      tf.resources.set(type, m);
    }
    for (const [name, bodies] of Object.entries((json.variable ?? {}) as Json)) {
      tf.variables.set(name, first(bodies) ?? {});
    }
    for (const l of (json.locals ?? []) as Json[]) Object.assign(tf.locals, l);
    tf.terraform.push(...((json.terraform ?? []) as Block[]));
  }
  return tf;
}

export async function loadTf(dir = infraDir): Promise<Tf> {
  return merge(await loadTfDir(dir));
}

/** A block's first (usually only) instance: hcl2json gives every block as an array. */
export function first(v: unknown): Block | undefined {
  if (Array.isArray(v)) return v[0] as Block | undefined;
  if (v && typeof v === 'object') return v as Block;
  return undefined;
}

/** Follows a path of nested blocks: path(b, 'settings', 'ip_configuration'). */
export function path(b: Block | undefined, ...keys: string[]): Block | undefined {
  let cur = b;
  for (const k of keys) cur = first(cur?.[k]);
  return cur;
}

const all = (b: Block | undefined, key: string): Block[] => {
  const v = b?.[key];
  return Array.isArray(v) ? (v as Block[]) : v ? [v as Block] : [];
};

function resources(tf: Tf, type: string): [string, Block][] {
  return [...(tf.resources.get(type) ?? new Map<string, Block>()).entries()];
}

const isExpr = (v: unknown): v is string => typeof v === 'string' && v.startsWith('${');

// ---------------------------------------------------------------------------------------------
// Following locals: enough of HCL to list the keys an environment map can hold.

/** `local.a.b` -> the value of locals.a.b (a parsed object or an expression string). */
function resolveLocal(tf: Tf, ref: string): unknown {
  let cur: unknown = tf.locals;
  for (const k of ref.split('.')) {
    if (cur && typeof cur === 'object' && !Array.isArray(cur)) cur = (cur as Json)[k];
    else return undefined;
  }
  return cur;
}

/**
 * The entries an object-valued expression can produce: literal keys of `{ K = v }` inside it and,
 * through `local.x.y` references, the locals it merges. Values are the literal text where known.
 * Unknown shapes (a `for` over a variable, say) give `undefined` so a rule can refuse them.
 */
export function objectEntries(tf: Tf, v: unknown, depth = 0): Map<string, unknown> | undefined {
  if (depth > 10) return undefined;
  if (v && typeof v === 'object' && !Array.isArray(v)) return new Map(Object.entries(v as Json));
  if (!isExpr(v)) return undefined;
  const out = new Map<string, unknown>();
  let known = false;
  const body = v.slice(2, -1);
  // Locals merged in; a reference that is no map (a string used as a value) is not an entry.
  for (const m of body.matchAll(/local\.([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)/g)) {
    const inner = objectEntries(tf, resolveLocal(tf, m[1] ?? ''), depth + 1);
    if (!inner) continue;
    for (const [k, val] of inner) out.set(k, val);
    known = true;
  }
  for (const m of body.matchAll(/[{\n,]\s*"?([A-Za-z_][\w]*)"?\s*=(?![=>])\s*([^\n,}]*)/g)) {
    out.set(m[1] ?? '', (m[2] ?? '').trim());
    known = true;
  }
  return known ? out : undefined;
}

// ---------------------------------------------------------------------------------------------
// The rules. Each returns the problems it found, as "<resource address>: <what is wrong>".

const PUBLIC_MEMBERS = /^(allUsers|allAuthenticatedUsers)$/;

/** No bucket readable by the world: uniform access, public access prevention, no public grants. */
export function publicBuckets(tf: Tf): string[] {
  const out: string[] = [];
  for (const [name, b] of resources(tf, 'google_storage_bucket')) {
    if (b.uniform_bucket_level_access !== true)
      out.push(`google_storage_bucket.${name}: uniform_bucket_level_access must be true`);
    if (b.public_access_prevention !== 'enforced')
      out.push(`google_storage_bucket.${name}: public_access_prevention must be "enforced"`);
  }
  for (const type of ['google_storage_bucket_iam_member', 'google_storage_bucket_iam_binding']) {
    for (const [name, b] of resources(tf, type)) {
      const members = [b.member, ...((b.members as unknown[]) ?? [])].filter(Boolean);
      if (members.some((m) => typeof m === 'string' && PUBLIC_MEMBERS.test(m)))
        out.push(`${type}.${name}: grants a bucket role to everyone`);
    }
  }
  for (const type of [
    'google_storage_bucket_acl',
    'google_storage_default_object_acl',
    'google_storage_object_acl',
  ]) {
    for (const [name, b] of resources(tf, type)) {
      const entries = [...((b.role_entity as unknown[]) ?? []), b.predefined_acl].filter(Boolean);
      if (entries.some((e) => typeof e === 'string' && /allUsers|allAuthenticatedUsers|publicRead/i.test(e)))
        out.push(`${type}.${name}: a public ACL`);
    }
  }
  return out;
}

/** Cloud SQL: private IP only; the primary with automated backups and point-in-time recovery. */
export function cloudSql(tf: Tf): string[] {
  const out: string[] = [];
  for (const [name, b] of resources(tf, 'google_sql_database_instance')) {
    const at = `google_sql_database_instance.${name}`;
    const ip = path(b, 'settings', 'ip_configuration');
    if (ip?.ipv4_enabled !== false) out.push(`${at}: ipv4_enabled must be false (private IP only)`);
    if (!ip?.private_network) out.push(`${at}: no private_network`);
    for (const n of all(ip, 'authorized_networks'))
      if (String(n.value).endsWith('/0'))
        out.push(`${at}: authorized network ${n.value} is the whole internet`);
    // A replica's backups are its primary's.
    if (b.master_instance_name) continue;
    const backup = path(b, 'settings', 'backup_configuration');
    if (backup?.enabled !== true) out.push(`${at}: automated backups must be enabled`);
    if (backup?.point_in_time_recovery_enabled !== true)
      out.push(`${at}: point_in_time_recovery_enabled must be true`);
  }
  return out;
}

/** BullMQ is only correct when Redis never evicts a key. */
export function redisEviction(tf: Tf): string[] {
  const out: string[] = [];
  for (const [type, key] of [
    ['google_redis_instance', 'redis_configs'],
    ['google_memorystore_instance', 'engine_configs'],
  ] as const) {
    for (const [name, b] of resources(tf, type)) {
      const configs = (b[key] ?? {}) as Json;
      const policy = configs['maxmemory-policy'];
      if (policy !== 'noeviction')
        out.push(
          `${type}.${name}: maxmemory-policy is ${policy ? `"${policy}"` : 'unset (evicting by default)'}, not "noeviction"`,
        );
    }
  }
  return out;
}

/** What names a secret: a variable or an app setting whose value must never be plain. */
const SECRET_VARIABLE = /pass(word|wd)?|secret|token|api_?key|private_?key|credential|auth_string|hmac/i;
const SECRET_ENV =
  /SECRET|TOKEN|PASSWORD|PASSWD|_KEY$|_KEY_ID$|CREDENTIAL|^DATABASE_URL$|_DATABASE_URL$|^REDIS_URL$|SMTP_OUTBOUND_URL/;
const CREDENTIALS_IN_URL = /[a-z][\w+.-]*:\/\/[^\s:@/"]+:[^\s@/"]+@/i;

const WORKLOADS: [type: string, containers: string[]][] = [
  ['google_cloud_run_v2_service', ['template', 'containers']],
  ['google_cloud_run_v2_job', ['template', 'template', 'containers']],
  ['google_cloud_run_service', ['template', 'spec', 'containers']],
];

function containersOf(b: Block, keys: string[]): Block[] {
  const parent = path(b, ...keys.slice(0, -1));
  return all(parent, keys[keys.length - 1] ?? '');
}

/**
 * Secrets never in plain variables: a variable named like a secret is `sensitive` and has no
 * default; a container's secret settings come from Secret Manager references, never a `value`,
 * and no plain value carries credentials in a URL.
 */
export function plainSecrets(tf: Tf): string[] {
  const out: string[] = [];
  for (const [name, v] of tf.variables) {
    if (!SECRET_VARIABLE.test(name)) continue;
    if (v.sensitive !== true) out.push(`var.${name}: holds a secret but is not sensitive = true`);
    if (v.default !== undefined && v.default !== null && v.default !== '')
      out.push(`var.${name}: a secret with a default value in the code`);
  }
  for (const [type, keys] of WORKLOADS) {
    for (const [name, b] of resources(tf, type)) {
      for (const c of containersOf(b, keys)) {
        const at = `${type}.${name} container ${c.name ?? c.image}`;
        for (const e of all(c, 'env')) checkPlainEnv(out, at, e.name, e.value);
        for (const d of all(path(c, 'dynamic'), 'env')) {
          const content = path(d, 'content');
          if (content?.value_source) continue;
          const entries = objectEntries(tf, d.for_each);
          if (!entries) {
            out.push(`${at}: a dynamic env whose names can't be read (${String(d.for_each)})`);
            continue;
          }
          for (const [k, val] of entries) checkPlainEnv(out, at, k, val);
        }
      }
    }
  }
  return out;
}

function checkPlainEnv(out: string[], at: string, name: unknown, value: unknown): void {
  if (value === undefined) return;
  if (typeof name === 'string' && SECRET_ENV.test(name))
    out.push(`${at}: ${name} is a plain value; use value_source.secret_key_ref`);
  else if (typeof value === 'string' && CREDENTIALS_IN_URL.test(value))
    out.push(`${at}: ${String(name)} carries credentials in a plain URL`);
}

const DEFAULT_COMPUTE_SA = /-compute@developer\.gserviceaccount\.com|google_compute_default_service_account/;

/** Every workload runs as a service account of its own, never the default compute account. */
export function defaultServiceAccounts(tf: Tf): string[] {
  const out: string[] = [];
  const where: [string, string[], string][] = [
    ['google_cloud_run_v2_service', ['template'], 'service_account'],
    ['google_cloud_run_v2_job', ['template', 'template'], 'service_account'],
    ['google_cloud_run_service', ['template', 'spec'], 'service_account_name'],
  ];
  for (const [type, keys, field] of where) {
    for (const [name, b] of resources(tf, type)) {
      const sa = path(b, ...keys)?.[field];
      if (!sa) out.push(`${type}.${name}: no ${field}: it would run as the default compute service account`);
      else if (typeof sa === 'string' && DEFAULT_COMPUTE_SA.test(sa))
        out.push(`${type}.${name}: runs as the default compute service account`);
    }
  }
  return out;
}

/** A version constraint with an upper bound: `~> x.y`, an exact version, or an explicit `<`. */
export function pinned(constraint: unknown): boolean {
  if (typeof constraint !== 'string' || !constraint.trim()) return false;
  return constraint
    .split(',')
    .map((c) => c.trim())
    .some((c) => /^~>\s*\d/.test(c) || /^=?\s*\d+\.\d+\.\d+$/.test(c) || /^<=?\s*\d/.test(c));
}

/** Terraform itself and every provider in use are pinned to a bounded version range. */
export function unpinnedProviders(tf: Tf): string[] {
  const out: string[] = [];
  const declared = new Map<string, Json>();
  if (!tf.terraform.length) out.push('no terraform block');
  for (const t of tf.terraform) {
    if (t.required_version !== undefined && !pinned(t.required_version))
      out.push(`terraform.required_version "${String(t.required_version)}" has no upper bound`);
    for (const rp of all(t, 'required_providers'))
      for (const [name, spec] of Object.entries(rp)) declared.set(name, (spec ?? {}) as Json);
  }
  if (!tf.terraform.some((t) => t.required_version !== undefined))
    out.push('terraform.required_version is not set');
  for (const [name, spec] of declared) {
    if (typeof spec !== 'object' || !pinned(spec.version))
      out.push(
        `provider ${name}: version ${JSON.stringify(spec?.version ?? null)} is not pinned (use "~> x.y")`,
      );
  }
  const used = new Set([...tf.resources.keys()].map((t) => t.split('_')[0] ?? t));
  for (const { json } of tf.files)
    for (const t of Object.keys((json.data ?? {}) as Json)) used.add(t.split('_')[0] ?? t);
  for (const p of used) if (!declared.has(p)) out.push(`provider ${p} is used but not in required_providers`);
  return out;
}

/** Every variable says what it is for and what type it takes. */
export function undocumentedVariables(tf: Tf): string[] {
  const out: string[] = [];
  for (const [name, v] of tf.variables) {
    if (typeof v.description !== 'string' || v.description.trim().length < 10)
      out.push(`var.${name}: no description`);
    if (v.type === undefined) out.push(`var.${name}: no type`);
  }
  return out;
}

const BASIC_ROLES = /^roles\/(owner|editor|viewer)$/;

/**
 * Least privilege: no basic role (owner, editor, viewer) granted at all, each workload block with
 * an account of its own, and a Cloud Run service open to everyone only if it takes outside traffic.
 */
export function leastPrivilege(tf: Tf): string[] {
  const out: string[] = [];
  for (const type of ['google_project_iam_member', 'google_project_iam_binding']) {
    for (const [name, b] of resources(tf, type))
      if (typeof b.role === 'string' && BASIC_ROLES.test(b.role))
        out.push(`${type}.${name}: grants the basic role ${b.role}`);
  }
  const owners = new Map<string, string>();
  for (const [type, keys, field] of [
    ['google_cloud_run_v2_service', ['template'], 'service_account'],
    ['google_cloud_run_v2_job', ['template', 'template'], 'service_account'],
  ] as const) {
    for (const [name, b] of resources(tf, type)) {
      const sa = path(b, ...keys)?.[field];
      if (typeof sa !== 'string') continue;
      const other = owners.get(sa);
      if (other) out.push(`${type}.${name}: shares its service account with ${other}`);
      else owners.set(sa, `${type}.${name}`);
    }
  }
  for (const [name, b] of resources(tf, 'google_cloud_run_v2_service_iam_member')) {
    if (b.member !== 'allUsers' && b.member !== 'allAuthenticatedUsers') continue;
    const target = /google_cloud_run_v2_service\.([\w-]+)\./.exec(String(b.name))?.[1];
    const ingress = target
      ? tf.resources.get('google_cloud_run_v2_service')?.get(target)?.ingress
      : undefined;
    if (ingress !== 'INGRESS_TRAFFIC_ALL')
      out.push(
        `google_cloud_run_v2_service_iam_member.${name}: opens ${target ?? String(b.name)} to everyone, but it takes no outside traffic`,
      );
  }
  return out;
}

export const RULES = {
  leastPrivilege,
  publicBuckets,
  cloudSql,
  redisEviction,
  plainSecrets,
  defaultServiceAccounts,
  unpinnedProviders,
  undocumentedVariables,
};
