import { senderAddress } from '../db/email-addresses.js';
import {
  claimDigest,
  type DigestItem,
  dueDigests,
  finishDigest,
  orgsWithDigests,
  releaseDigest,
} from '../db/notification-digests.js';
import { withTenant } from '../db/tenant.js';
import { counter } from '../lib/metrics.js';
import type { WorkerDeps } from './deps.js';
import { type JobData, jobIds } from './jobs.js';
import { permanentError } from './queues.js';

/**
 * The daily email digest. `notify.digest_sweep` (every few minutes) finds the members whose digest
 * hour has come in their own time zone and who hold digest items, and enqueues one
 * `notify.digest` per member and local day (its job id is that pair, so overlapping sweeps add it
 * once). The job claims the day's digest row, sends one mail listing the held notifications
 * through SMTP_OUTBOUND_URL, then marks it sent: a retry or a later sweep finds the day done and
 * sends nothing. Only a crash between the relay's answer and that mark sends the mail again, with
 * the same Message-ID (derived from member and day), which mail clients fold.
 */

export const DIGEST_SWEEP_EVERY_MS = 5 * 60_000;

const digests = counter('gamemod_notification_digests_total', 'Daily notification digests', ['outcome']);

export async function digestSweep(deps: WorkerDeps): Promise<number> {
  const now = deps.clock.now();
  let queued = 0;
  for (const orgId of await orgsWithDigests(deps.pool)) {
    try {
      const due = await withTenant(deps.pool, orgId, (tx) => dueDigests(tx, now));
      for (const d of due) {
        await deps.queues.enqueue(
          'notify.digest',
          { orgId, userId: d.userId, day: d.day },
          { jobId: jobIds.digest(orgId, d.userId, d.day) },
        );
        queued++;
      }
    } catch (err) {
      deps.logger.warn({ orgId, err: (err as Error).message }, 'digest sweep failed for an org');
    }
  }
  return queued;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);

const LABELS: Record<DigestItem['event'], string> = {
  assigned: 'Assigned to you',
  mentioned: 'Mentions',
  player_replied: 'Player replies',
  sla_warning: 'SLA warnings',
  sla_breached: 'SLA breaches',
  new_in_queue: "New in your team's queue",
  rule: 'Rules',
};

/** The mail's text: the items grouped by kind, oldest first within each, with the time (UTC). */
export function digestText(day: string, items: readonly DigestItem[], panelUrl: string | null): string {
  const lines = [
    `What happened since your last digest (${day}): ${items.length} notification${items.length === 1 ? '' : 's'}.`,
    '',
  ];
  for (const [event, label] of Object.entries(LABELS)) {
    const of = items.filter((i) => i.event === event);
    if (!of.length) continue;
    lines.push(`${label} (${of.length})`);
    for (const i of of) {
      const at = i.createdAt.toISOString().slice(0, 16).replace('T', ' ');
      lines.push(`- ${at} UTC  ${i.title}`);
      if (i.body) lines.push(`  ${i.body.replace(/\s+/g, ' ')}`);
      if (panelUrl && i.ticketId) lines.push(`  ${panelUrl}/t/${i.ticketId}`);
    }
    lines.push('');
  }
  lines.push('You get this once a day because you chose the email digest in your notification preferences.');
  return `${lines.join('\n')}\n`;
}

export async function sendDigest(deps: WorkerDeps, job: JobData<'notify.digest'>): Promise<string> {
  const { orgId, userId, day } = job;
  const claimed = await withTenant(deps.pool, orgId, async (tx) => {
    const c = await claimDigest(tx, userId, day);
    if (!c || c === 'busy') return c;
    const why = !c.items.length
      ? 'nothing held'
      : !deps.mailer
        ? 'SMTP_OUTBOUND_URL is not set'
        : !c.email
          ? 'no email address'
          : null;
    const from = why ? null : await senderAddress(tx);
    const skip = why ?? (from ? null : 'the organization has no address to send from');
    if (skip) {
      // Nothing can send it today; the items say why, as a per-event email would.
      await finishDigest(tx, userId, day, { status: c.items.length ? 'failed' : 'empty', reason: skip });
      return { skip };
    }
    return { ...c, from: from! };
  });
  if (!claimed) return 'already done';
  // Another attempt holds it (a stalled job's rerun): this one retries later and, by then, finds
  // it sent or released.
  if (claimed === 'busy') throw new Error('digest is being sent by another attempt');
  if ('skip' in claimed) {
    digests.inc({ outcome: 'skipped' });
    deps.logger.info({ orgId, userId, day, reason: claimed.skip }, 'digest not sent');
    return claimed.skip ?? 'skipped';
  }
  const messageId = `gm-digest-${day}-${userId}-${orgId.slice(0, 8)}@${domainOf(claimed.from.address)}`;
  const panelUrl = deps.panelUrl ? `${deps.panelUrl.replace(/\/$/, '')}/o/${orgId}` : null;
  try {
    await deps.mailer!.sendMail({
      messageId: `<${messageId}>`,
      from: { name: claimed.from.senderName ?? 'GameMod', address: claimed.from.address },
      to: claimed.email!,
      subject: `Your daily digest for ${day}: ${claimed.items.length} notification${claimed.items.length === 1 ? '' : 's'}`,
      text: digestText(day, claimed.items, panelUrl),
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
    });
  } catch (err) {
    const code = (err as { responseCode?: number }).responseCode;
    if (code !== undefined && code >= 500) {
      // The relay refused it for good (bad recipient): retrying sends nothing.
      await withTenant(deps.pool, orgId, (tx) =>
        finishDigest(tx, userId, day, { status: 'failed', reason: (err as Error).message }),
      );
      digests.inc({ outcome: 'failed' });
      throw permanentError(`digest refused: ${(err as Error).message}`);
    }
    // Left `sending` and released: the queue's backoff retries with the same items.
    await withTenant(deps.pool, orgId, (tx) => releaseDigest(tx, userId, day)).catch(() => {});
    throw err;
  }
  await withTenant(deps.pool, orgId, (tx) =>
    finishDigest(tx, userId, day, { status: 'sent', messageId, items: claimed.items.length }),
  );
  digests.inc({ outcome: 'sent' });
  return 'sent';
}
