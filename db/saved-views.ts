import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, changedAny, diffChanges, recordChange } from './changes.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * A member's saved inbox views: a name and the filters it restores. Each view belongs to the
 * member who saved it; every query here is scoped to that user inside the org's tenant.
 */
export interface SavedView {
  id: string;
  name: string;
  filters: Record<string, string>;
  createdAt: Date;
}

/** The inbox filters a view may hold: the keys of the panel's inbox URL, as the URL holds them. */
export const VIEW_FILTERS = [
  'q',
  'status',
  'assignee',
  'priority',
  'category',
  'source',
  'sla',
  'sort',
  'tag',
  'team',
  'game',
  // The analytics drill-down's window (tickets created in one chart bucket).
  'createdFrom',
  'createdTo',
] as const;

const filterValue = z.string().trim().max(200);
export const viewFilters = z
  .object(
    Object.fromEntries(VIEW_FILTERS.map((k) => [k, filterValue.optional()])) as Record<
      (typeof VIEW_FILTERS)[number],
      z.ZodOptional<typeof filterValue>
    >,
  )
  .strict();

export const saveViewInput = z.object({
  name: z.string().trim().min(1, 'a view needs a name').max(60),
  filters: viewFilters,
});

const COLUMNS = `id, name, filters, created_at as "createdAt"`;
const notFound = () => new AppError('not_found', 'saved view not found');

export async function listSavedViews(tx: Tx, userId: string): Promise<SavedView[]> {
  const r = await tx.query<SavedView>(
    `select ${COLUMNS} from saved_views where org_id = $1::uuid and user_id = $2::uuid order by name limit 100`,
    [tx.orgId, userId],
  );
  return r.rows;
}

/** Saves a view for `userId`; saving again under the same name replaces its filters. */
export async function saveView(
  tx: Tx,
  userId: string,
  raw: z.input<typeof saveViewInput>,
  actor: Actor,
): Promise<{ view: SavedView; created: boolean }> {
  const input = parseInput(saveViewInput, raw);
  // Empty values are the same as an unset filter: keep only what filters something.
  const filters = Object.fromEntries(Object.entries(input.filters).filter(([, v]) => v));
  // The view it replaces, locked, so the entry says which filters it had.
  const b = await tx.query<SavedView>(
    `select ${COLUMNS} from saved_views where org_id = $1::uuid and user_id = $2::uuid and name = $3::text for update`,
    [tx.orgId, userId, input.name],
  );
  const r = await tx.query<SavedView & { created: boolean }>(
    `insert into saved_views (org_id, user_id, name, filters) values ($1::uuid, $2::uuid, $3::text, $4::jsonb)
     on conflict (org_id, user_id, name) do update set filters = excluded.filters
     returning ${COLUMNS}, (xmax = 0) as created`,
    [tx.orgId, userId, input.name, JSON.stringify(filters)],
  );
  const { created, ...view } = r.rows[0] as SavedView & { created: boolean };
  const target = { type: 'saved_view', id: view.id };
  if (created) {
    await recordChange(tx, actor, {
      action: 'saved_view.created',
      target,
      data: { name: view.name, filters },
    });
  } else {
    const changes = diffChanges(b.rows[0], view, ['filters']);
    if (changedAny(changes)) {
      await recordChange(tx, actor, {
        action: 'saved_view.updated',
        target,
        data: { name: view.name, changes },
      });
    }
  }
  return { view, created };
}

export const renameViewInput = z.object({ name: saveViewInput.shape.name });

/** Renames one of `userId`'s views; a name another of their views has is a conflict, not a merge. */
export async function renameSavedView(
  tx: Tx,
  userId: string,
  viewId: string,
  raw: z.input<typeof renameViewInput>,
  actor: Actor,
): Promise<SavedView> {
  const input = parseInput(renameViewInput, raw);
  const before = await tx.query<{ name: string }>(
    'select name from saved_views where org_id = $1::uuid and user_id = $2::uuid and id = $3::uuid for update',
    [tx.orgId, userId, parseInput(id, viewId)],
  );
  const old = before.rows[0];
  if (!old) throw notFound();
  const taken = await tx.query(
    'select 1 from saved_views where org_id = $1::uuid and user_id = $2::uuid and name = $3::text and id <> $4::uuid',
    [tx.orgId, userId, input.name, viewId],
  );
  if (taken.rowCount) throw new AppError('conflict', `you already have a view named "${input.name}"`);
  const r = await tx.query<SavedView>(
    `update saved_views set name = $4::text where org_id = $1::uuid and user_id = $2::uuid and id = $3::uuid
     returning ${COLUMNS}`,
    [tx.orgId, userId, viewId, input.name],
  );
  const view = r.rows[0] as SavedView;
  // Renamed to the name it had: nothing to record.
  if (old.name !== view.name) {
    await recordChange(tx, actor, {
      action: 'saved_view.renamed',
      target: { type: 'saved_view', id: view.id },
      data: { from: old.name, to: view.name },
    });
  }
  return view;
}

export async function deleteSavedView(tx: Tx, userId: string, viewId: string, actor: Actor): Promise<void> {
  const r = await tx.query<{ name: string }>(
    'delete from saved_views where org_id = $1::uuid and user_id = $2::uuid and id = $3::uuid returning name',
    [tx.orgId, userId, parseInput(id, viewId)],
  );
  const gone = r.rows[0];
  if (!gone) throw notFound();
  await recordChange(tx, actor, {
    action: 'saved_view.deleted',
    target: { type: 'saved_view', id: viewId },
    data: { name: gone.name },
  });
}
