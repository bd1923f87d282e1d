import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { envSchema } from '../lib/config.js';

/** The documentation is held to the code: a table or link that drifts fails here. */

const root = join(import.meta.dirname, '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

/** The default a variable's schema gives, found through pipes and transforms. */
function schemaDefault(schema: unknown): unknown {
  const def = (schema as { _zod: { def: { type: string; defaultValue?: unknown; in?: unknown } } })._zod.def;
  if (def.type === 'default') return def.defaultValue;
  if (def.type === 'pipe') return schemaDefault(def.in);
  return undefined;
}

/** `| \`NAME\` | default | meaning |` rows of the README's configuration table. */
function configTable(): Map<string, string> {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('\n## Configuration'));
  const table = section.slice(0, section.indexOf('\n## ', 1));
  const rows = new Map<string, string>();
  for (const line of table.split('\n')) {
    const m = /^\|\s*`([A-Z0-9_]+)`\s*\|([^|]*)\|/.exec(line);
    if (m?.[1]) rows.set(m[1], (m[2] ?? '').trim());
  }
  return rows;
}

describe('the README', () => {
  it('lists every configuration variable lib/config.ts reads, and no other', () => {
    const documented = [...configTable().keys()].sort();
    const read = Object.keys(envSchema.shape).sort();
    expect(documented).toEqual(read);
  });

  it('gives each variable the default its schema has', () => {
    const table = configTable();
    for (const [name, schema] of Object.entries(envSchema.shape)) {
      const value = schemaDefault(schema);
      if (value === undefined) continue;
      expect(table.get(name), name).toContain(`\`${String(value)}\``);
    }
  });

  it('and the other documents link to files that exist', () => {
    const readmes = execFileSync('git', ['ls-files', '*.md'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    expect(readmes.length).toBeGreaterThan(5);
    const broken: string[] = [];
    for (const file of readmes) {
      for (const [, target] of read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (!target || /^[a-z]+:/.test(target)) continue;
        if (!existsSync(join(root, dirname(file), target))) broken.push(`${file} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('the package', () => {
  it('declares a Node version every locked dependency supports (no engine warning on install)', () => {
    const ours = JSON.parse(read('package.json')).engines.node as string;
    const lowest = ours.split('||').map((part) => semver.minVersion(part.trim())?.version);
    expect(lowest.length).toBeGreaterThan(0);
    // The Node that runs the tests is one the project claims.
    expect(semver.satisfies(process.versions.node, ours)).toBe(true);
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean }>;
    };
    const unsupported: string[] = [];
    for (const [path, pkg] of Object.entries(lock.packages)) {
      const wanted = !Array.isArray(pkg.engines) ? pkg.engines?.node : undefined;
      if (!path || !wanted) continue;
      for (const version of lowest) {
        if (version && !semver.satisfies(version, wanted))
          unsupported.push(`${path} wants ${wanted}, not ${version}`);
      }
    }
    expect(unsupported).toEqual([]);
  });
});

/** `docker-compose config` over the repository's file, in an environment holding only `env` (no .env). */
function composeConfig(env: Record<string, string>): { ok: boolean; out: string } {
  const noEnvFile = join(mkdtempSync(join(tmpdir(), 'gamemod-compose-')), 'empty.env');
  writeFileSync(noEnvFile, '');
  try {
    const out = execFileSync(
      'docker-compose',
      ['--env-file', noEnvFile, '-f', 'docker-compose.yml', 'config'],
      {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return { ok: true, out };
  } catch (err) {
    return { ok: false, out: String((err as { stderr?: unknown }).stderr) };
  } finally {
    rmSync(dirname(noEnvFile), { recursive: true, force: true });
  }
}

/** Every password the stack needs; the values stand in for the operator's own. */
const STACK_PASSWORDS = {
  POSTGRES_PASSWORD: 'pg-super-7f3a',
  GAMEMOD_OWNER_PASSWORD: 'owner-91c2',
  GAMEMOD_APP_PASSWORD: 'app-5d8e',
  REDIS_PASSWORD: 'redis-0b4f',
};

describe('docker-compose.yml', () => {
  it('refuses to run without each password: no constant one to fall back on', () => {
    const compose = read('docker-compose.yml');
    expect(compose).not.toMatch(/PASSWORD:-/);
    for (const name of Object.keys(STACK_PASSWORDS)) {
      const uses = [...compose.matchAll(new RegExp(`\\$\\{${name}\\b[^}]*\\}`, 'g'))].map((m) => m[0]);
      expect(uses.length, name).toBeGreaterThan(0);
      for (const use of uses) expect(use).toMatch(new RegExp(`^\\$\\{${name}:\\?${name} is required`));
      // CI's shape check and .env.example name it too.
      expect(read('.ci/run')).toMatch(new RegExp(`\\b${name}=\\S+ .*docker-compose config -q`));
      expect(read('.env.example')).toMatch(new RegExp(`^${name}=$`, 'm'));
    }
    const without = composeConfig({});
    expect(without.ok).toBe(false);
    expect(without.out).toMatch(/[A-Z_]+PASSWORD is required/);
  });

  it('puts Redis behind its password, and publishes neither Redis nor PostgreSQL on the host', () => {
    const { ok, out } = composeConfig(STACK_PASSWORDS);
    expect(ok, out).toBe(true);
    const config = parseYaml(out) as {
      services: Record<
        string,
        {
          command?: string[];
          environment?: Record<string, string>;
          ports?: unknown;
          healthcheck?: { test: string[] };
        }
      >;
    };
    const { redis, postgres, api, workers, bot } = config.services;
    expect(redis?.command?.join(' ')).toContain('--requirepass redis-0b4f');
    // The health check authenticates (redis-cli reads REDISCLI_AUTH), or it would see NOAUTH.
    expect(redis?.environment?.REDISCLI_AUTH).toBe('redis-0b4f');
    for (const app of [api, workers, bot])
      expect(app?.environment?.REDIS_URL).toBe('redis://:redis-0b4f@redis:6379');
    expect(postgres?.environment?.POSTGRES_PASSWORD).toBe('pg-super-7f3a');
    expect(api?.environment?.DATABASE_URL).toBe('postgres://gamemod_app:app-5d8e@postgres:5432/gamemod');
    expect([redis?.ports, postgres?.ports]).toEqual([undefined, undefined]);
  });

  it('passes SECRET_KEY through with no default, and .env.example shows it', () => {
    const compose = read('docker-compose.yml');
    expect(compose).toMatch(/^\s+SECRET_KEY: \$\{SECRET_KEY\}$/m);
    expect(compose).not.toMatch(/SECRET_KEY:-/);
    expect(read('.env.example')).toMatch(/^SECRET_KEY=$/m);
  });
});
