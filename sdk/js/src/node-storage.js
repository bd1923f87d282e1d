import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Persistent storage for Node (game servers, tools): one JSON file, written atomically (a
 * temporary file renamed over it) so a crash mid-write never loses the queue.
 * @param {string} file
 */
export function fileStorage(file) {
  /** @returns {Promise<Record<string, string>>} */
  const load = async () => {
    try {
      return JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      if (/** @type {{ code?: string }} */ (err).code === 'ENOENT') return {};
      throw err;
    }
  };
  return {
    /** @param {string} key */
    async getItem(key) {
      const all = await load();
      return key in all ? all[key] : null;
    },
    /** @param {string} key @param {string} value */
    async setItem(key, value) {
      const all = await load();
      all[key] = value;
      await mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(all));
      await rename(tmp, file);
    },
  };
}
