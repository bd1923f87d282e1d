export { renderTranscript } from '../lib/discord/transcript.js';

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Storage } from '../lib/storage/index.js';
import type { PutObject } from './context.js';

/**
 * The fallback store when no storage module is wired in: files under a local directory.
 * Returns no URL (nothing serves that directory), so the transcript channel gets the file itself.
 */
export function localPut(dir: string): PutObject {
  const root = resolve(dir);
  return async (key, body) => {
    const path = resolve(join(root, key));
    if (!path.startsWith(`${root}/`)) throw new Error('transcript key escapes the transcript directory');
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
    return { url: null };
  };
}

/**
 * Transcripts through the shared storage: S3 gives a presigned link (7 days, Discord shows it in
 * the transcript channel); the local driver has none, so the transcript channel gets the file.
 */
export function storagePut(storage: Storage): PutObject {
  return async (key, body, contentType) => {
    await storage.put(key, body, { contentType, contentLength: body.length });
    return {
      url: storage.presignGet(key, {
        expiresInSeconds: 7 * 86_400,
        disposition: 'inline',
        filename: key.split('/').at(-1) ?? 'transcript.html',
      }),
    };
  };
}
