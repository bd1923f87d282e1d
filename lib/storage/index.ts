import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Storage } from './common.js';
import { LocalStorage } from './local.js';
import { S3Storage } from './s3.js';

/** The storage `STORAGE_DRIVER` names. S3 settings are checked here, when they are needed. */
export function createStorage(config: Config['storage']): Storage {
  if (config.driver === 'local') return new LocalStorage(config.dir);
  const { bucket, accessKeyId, secretAccessKey } = config.s3;
  const missing = [
    bucket ? null : 'S3_BUCKET',
    accessKeyId ? null : 'S3_ACCESS_KEY_ID',
    secretAccessKey ? null : 'S3_SECRET_ACCESS_KEY',
  ].filter((v) => v !== null);
  if (!bucket || !accessKeyId || !secretAccessKey) {
    throw new AppError('config_invalid', `STORAGE_DRIVER=s3 needs ${missing.join(', ')}`, {
      details: missing.map((path) => ({ path, message: 'required when STORAGE_DRIVER=s3' })),
    });
  }
  return new S3Storage({
    endpoint: config.s3.endpoint ?? `https://s3.${config.s3.region}.amazonaws.com`,
    region: config.s3.region,
    bucket,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: config.s3.forcePathStyle,
  });
}

export * from './common.js';
export { LocalStorage } from './local.js';
export { type S3Options, S3Storage } from './s3.js';
