import type { z } from 'zod';
import { AppError, issuesToDetails } from '../lib/errors.js';

export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) {
    const details = issuesToDetails(r.error.issues);
    throw new AppError(
      'validation_failed',
      `invalid input: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`,
      {
        details,
      },
    );
  }
  return r.data;
}
