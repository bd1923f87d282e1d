import type { BusinessCalendar } from '../lib/business-time.js';
import type { Rng } from './seed-timeline.js';
import type { SlaMetric } from './sla-clocks.js';
import type { Origin, Priority, Status } from './ticket-rules.js';

/**
 * The shapes of the demo seed: what db/seed.ts gives the timeline (policies, categories,
 * players) and the rows the timeline hands back for db/seed.ts to insert.
 */

export interface SeedPolicy {
  id: string;
  firstResponseMinutes: number;
  nextResponseMinutes: number;
  resolutionMinutes: number;
  calendar: BusinessCalendar | null;
}

export interface SeedCategory {
  id: string;
  teamId: string;
  subjects: readonly string[];
  tags: readonly string[];
  /** Custom-field answers a player would give (the category's questions). */
  answers: (r: Rng) => Record<string, string>;
}

export interface SeedPlayer {
  id: string;
  platform: string;
  buildVersion: string;
  hasDiscord: boolean;
  hasEmail: boolean;
}

export interface TimelineInput {
  now: Date;
  count: number;
  days: number;
  players: readonly SeedPlayer[];
  /** Staff who work tickets, by team. */
  staffByTeam: Readonly<Record<string, readonly string[]>>;
  categories: readonly SeedCategory[];
  policies: Readonly<Record<Priority, SeedPolicy>>;
  gameId: string;
  guildId: string;
}

export interface TicketRow {
  id: string;
  number: number;
  subject: string;
  status: Status;
  priority: Priority;
  origin: Origin;
  requesterId: string;
  categoryId: string;
  teamId: string;
  assigneeId: string | null;
  gameId: string;
  tags: string[];
  customFields: Record<string, unknown>;
  discordGuildId: string | null;
  rating: number | null;
  ratingComment: string | null;
  ratedAt: Date | null;
  firstResponseAt: Date | null;
  lastPlayerMessageAt: Date | null;
  lastStaffMessageAt: Date | null;
  statusChangedAt: Date;
  reopenCount: number;
  slaDueAt: Date | null;
  slaBreachedAt: Date | null;
  solvedAt: Date | null;
  closedAt: Date | null;
  closeReason: string | null;
  pendingSince: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface MessageRow {
  id: string;
  ticketId: string;
  authorType: 'user' | 'player';
  authorUserId: string | null;
  authorPlayerId: string | null;
  origin: Origin;
  body: string;
  createdAt: Date;
}

export interface EventRow {
  ticketId: string;
  type: string;
  actorType: 'user' | 'player' | 'system';
  actorId: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
}

export interface NoteRow {
  id: string;
  ticketId: string;
  authorUserId: string;
  body: string;
  createdAt: Date;
}

export interface AssignmentRow {
  ticketId: string;
  userId: string;
  assignedBy: string;
  assignedAt: Date;
}

export interface SlaEventRow {
  ticketId: string;
  policyId: string;
  metric: SlaMetric;
  kind: 'activate' | 'pause' | 'resume' | 'fulfil' | 'breach';
  dueAt: Date | null;
  createdAt: Date;
}

export interface Timeline {
  tickets: TicketRow[];
  messages: MessageRow[];
  events: EventRow[];
  notes: NoteRow[];
  assignments: AssignmentRow[];
  sla: SlaEventRow[];
}
