/** The values and transitions the schema's checks also enforce; kept here for callers' types. */
export const STATUSES = ['open', 'pending', 'on_hold', 'solved', 'closed'] as const;
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export const ORIGINS = ['discord', 'game', 'email', 'panel', 'api'] as const;

export type Status = (typeof STATUSES)[number];
export type Priority = (typeof PRIORITIES)[number];
export type Origin = (typeof ORIGINS)[number];

/**
 * Allowed status changes. Solved and closed only go back to open (a reopen); solved may also be
 * closed for good. Everything else is refused with `invalid_transition`.
 */
export const TRANSITIONS: Record<Status, readonly Status[]> = {
  open: ['pending', 'on_hold', 'solved', 'closed'],
  pending: ['open', 'on_hold', 'solved', 'closed'],
  on_hold: ['open', 'pending', 'solved', 'closed'],
  solved: ['open', 'closed'],
  closed: ['open'],
};

export const canTransition = (from: Status, to: Status) => TRANSITIONS[from].includes(to);

/** The outbox event a status change emits. */
export function statusEvent(from: Status, to: Status): string {
  if (to === 'closed') return 'ticket.closed';
  if (to === 'open' && (from === 'solved' || from === 'closed')) return 'ticket.reopened';
  return 'ticket.status_changed';
}
