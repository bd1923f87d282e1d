import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder that holds package.json, node_modules/, panel/ and db/migrations/: the repository
 * when the sources run under tsx, and the same folder when the compiled build runs from dist/
 * (the image ships dist/ beside them). Found by walking up from this module, so both layouts
 * resolve the files the server reads at run time the same way.
 */
function findAppRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const APP_ROOT = findAppRoot(dirname(fileURLToPath(import.meta.url)));
