import { z } from 'zod';

/** Schemas shared by the route files, so the OpenAPI document names each shape once. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z
        .string()
        .meta({ description: 'stable machine-readable code, e.g. not_found, validation_failed' }),
      message: z.string(),
      details: z.unknown(),
    }),
  })
  .meta({ id: 'Error' });

/** The error statuses any route may answer; listed so the OpenAPI document tells the truth. */
export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  409: errorSchema,
  412: errorSchema,
  413: errorSchema,
  415: errorSchema,
  422: errorSchema,
  429: errorSchema,
  503: errorSchema,
} as const;

export const okSchema = z.object({ ok: z.literal(true) });

export const uuid = z.uuid();
export const orgParams = z.object({ orgId: uuid });
