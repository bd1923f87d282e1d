import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { id, limit } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

export interface AuditEntry {
  id: number;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  data: Record<string, unknown>;
  ip: string | null;
  requestId: string | null;
  createdAt: Date;
}

export const auditQueryInput = z.object({
  actorId: id.optional(),
  action: z.string().max(100).optional(),
  targetType: z.string().max(50).optional(),
  targetId: z.string().max(100).optional(),
  from: z.coerce.date().optional(),
  to: z.coerce.date().optional(),
  /** The id of the last entry of the previous page. */
  before: z.coerce.number().int().positive().optional(),
  limit,
});

/** The audit log, newest first, filtered by actor, action, target and time (read-only). */
export async function queryAudit(tx: Tx, raw: z.input<typeof auditQueryInput> = {}): Promise<AuditEntry[]> {
  const q = parseInput(auditQueryInput, raw);
  if (q.from && q.to && q.from > q.to) throw new AppError('validation_failed', '`from` is after `to`');
  const r = await tx.query<AuditEntry>(
    `select id, actor_type as "actorType", actor_id as "actorId", action, target_type as "targetType",
       target_id as "targetId", data, host(ip) as ip, request_id as "requestId", created_at as "createdAt"
     from audit_logs
     where org_id = $1::uuid
       and ($2::uuid is null or actor_id = $2::uuid)
       and ($3::text is null or action = $3::text)
       and ($4::text is null or target_type = $4::text)
       and ($5::text is null or target_id = $5::text)
       and ($6::timestamptz is null or created_at >= $6::timestamptz)
       and ($7::timestamptz is null or created_at < $7::timestamptz)
       and ($8::bigint is null or id < $8::bigint)
     order by id desc limit $9::int`,
    [
      tx.orgId,
      q.actorId ?? null,
      q.action ?? null,
      q.targetType ?? null,
      q.targetId ?? null,
      q.from ?? null,
      q.to ?? null,
      q.before ?? null,
      q.limit,
    ],
  );
  return r.rows;
}
