import { z } from 'zod';

/** Small input shapes shared by the aggregates' zod schemas. */
export const id = z.uuid();
export const snowflake = z.string().regex(/^\d{17,20}$/, 'a Discord snowflake (17 to 20 digits)');
export const tag = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'letters, digits, - and _, at most 40');
export const body = z.string().max(16_000, 'at most 16,000 characters');
export const externalId = z.string().trim().min(1).max(200);
/**
 * Any JSON value. It is recursive, and a recursive schema can only be written down in the OpenAPI
 * document by pointing back at a named component, so this one instance is registered as JsonValue.
 */
export const jsonValue = z.json().register(z.globalRegistry, { id: 'JsonValue' });
export const jsonRecord = z.record(z.string().min(1).max(64), jsonValue);
export const limit = z.coerce.number().int().min(1).max(200).default(50);
