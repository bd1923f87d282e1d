import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
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

describe('docker-compose.yml', () => {
  it('passes SECRET_KEY through with no default, and .env.example shows it', () => {
    const compose = read('docker-compose.yml');
    expect(compose).toMatch(/^\s+SECRET_KEY: \$\{SECRET_KEY\}$/m);
    expect(compose).not.toMatch(/SECRET_KEY:-/);
    expect(read('.env.example')).toMatch(/^SECRET_KEY=$/m);
  });
});
