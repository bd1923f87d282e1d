import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { setMemberCapacity } from '../../db/rule-assign.js';
import { RULE_TRIGGERS, ruleChanges, ruleDefinition, waitSchema } from '../../db/rule-defs.js';
import { dryRun, dryRunInput } from '../../db/rule-dry-run.js';
import { listRuns, runNowInput, runRuleNow, runsQuery } from '../../db/rule-runs.js';
import {
  createRule,
  deleteRule,
  getRule,
  listRules,
  reorderInput,
  reorderRules,
  updateRule,
} from '../../db/rules.js';
import { onlineMembers } from '../../lib/presence.js';
import { actorOf, requirePermission } from './helpers.js';
import { errorResponses, okSchema, orgParams } from './schemas.js';
import { at, orgAnd } from './settings-schemas.js';

// Conditions and actions come back as stored (validated on the way in by the request schemas).
const item = z.record(z.string(), z.unknown());

export const ruleSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    trigger: z.enum(RULE_TRIGGERS),
    match: z.enum(['all', 'any']),
    conditions: z.array(item),
    actions: z.array(item),
    /** Only for `ticket.waiting`: what a ticket waits for, and how many hours, before the rule runs. */
    wait: waitSchema.nullable(),
    /** Rules run in this order (0 first); a later rule sees what an earlier one changed. */
    position: z.number().int(),
    enabled: z.boolean(),
    createdAt: at,
    updatedAt: at,
  })
  .meta({ id: 'Rule' });

const ruleRunSchema = z
  .object({
    id: z.number().int(),
    ticketId: z.uuid(),
    ticketNumber: z.number().int(),
    outboxId: z.number().int(),
    /** Null once the rule was deleted; its name stays. */
    ruleId: z.uuid().nullable(),
    ruleName: z.string(),
    trigger: z.enum(RULE_TRIGGERS),
    /** 1 for an event from a person or the system, one more for each rule in a chain. */
    depth: z.number().int(),
    outcome: z.enum(['applied', 'not_matched', 'skipped', 'failed']),
    reason: z.string().nullable(),
    actions: z.array(z.string()),
    createdAt: at,
  })
  .meta({ id: 'RuleRun' });

const dryRunResult = z
  .object({
    ticketId: z.uuid(),
    number: z.number().int(),
    matched: z.boolean(),
    reason: z.string(),
    actions: z.array(z.string()),
  })
  .meta({ id: 'RuleDryRunResult' });

const manualRunSchema = z
  .object({
    /** The run log entry written for it (also in `GET /rules/runs`). */
    runId: z.number().int(),
    ruleId: z.uuid(),
    ruleName: z.string(),
    ticketId: z.uuid(),
    ticketNumber: z.number().int(),
    /** `not_matched`: the rule's conditions do not hold on the ticket now, so nothing was done. */
    outcome: z.enum(['applied', 'not_matched', 'failed']),
    reason: z.string(),
    actions: z.array(z.string()),
  })
  .meta({ id: 'RuleManualRun' });

const T = ['rules'];
/** What the document says of the permissions a rule's actions need (db/rule-defs.ts actionPermissions). */
const ACTIONS_NEED =
  'A rule does only what its author may: the caller must also hold what its actions need ' +
  '(`tickets.assign` to assign or move to a team, `tickets.update` to set priority, status, tags ' +
  'or category, `tickets.close` to close or solve, `tickets.reply` for a canned reply, ' +
  '`tickets.note` for a note), else 403 with the missing permissions in `details.permissions`.';
const manage = { permission: 'rules.manage' } as const;
/** The dry run and the run log tell ticket numbers and why rules matched them. */
const READS_TICKETS =
  'Needs `tickets.read` as well as `rules.manage`: the answer tells ticket numbers and why the rule matched them (403 otherwise).';
const ruleParams = orgAnd('ruleId');

export const ruleRoutes: FastifyPluginAsyncZod = async (app) => {
  const base = '/v1/orgs/:orgId/rules';
  const one = `${base}/:ruleId`;

  app.get(
    base,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'listRules',
        summary: 'List the automation rules in the order they run',
        params: orgParams,
        response: { 200: z.object({ rules: z.array(ruleSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ rules: await req.inOrg(listRules) }),
  );

  app.post(
    base,
    {
      config: { access: manage, idempotent: true },
      schema: {
        tags: T,
        operationId: 'createRule',
        summary: 'Add an automation rule (it runs after the existing ones)',
        description: ACTIONS_NEED,
        params: orgParams,
        body: ruleDefinition,
        response: { 201: ruleSchema, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await req.inOrg((tx) => createRule(tx, req.body, actorOf(req)))),
  );

  app.put(
    `${base}/order`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'reorderRules',
        summary: "Set the order rules run in (every rule's id, once)",
        params: orgParams,
        body: reorderInput,
        response: { 200: z.object({ rules: z.array(ruleSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ rules: await req.inOrg((tx) => reorderRules(tx, req.body, actorOf(req))) }),
  );

  app.post(
    `${base}/dry-run`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'dryRunRule',
        summary: 'What a rule (saved, or as being edited) would do on the last N tickets; changes nothing',
        description: `${READS_TICKETS} A time-based rule (\`ticket.waiting\`) matches only a ticket whose wait is over, measured as the sweep measures it (on the database's clock), and not one it already ran on for the same wait: \`reason\` says "not waiting: ...", "waiting since ... (n h; the rule waits N h)" or "already ran for this wait". Message conditions are checked against the latest staff message for a \`message.staff\` rule and the latest player message otherwise, and \`reason\` says which.`,
        params: orgParams,
        body: dryRunInput,
        response: { 200: z.object({ results: z.array(dryRunResult) }), ...errorResponses },
      },
    },
    async (req) => {
      requirePermission(req, 'tickets.read');
      return { results: await req.inOrg((tx) => dryRun(tx, req.body)) };
    },
  );

  app.get(
    `${base}/runs`,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'listRuleRuns',
        summary:
          'The run log, newest first: which rules matched an event on a ticket, what they did, why others did not',
        description: READS_TICKETS,
        params: orgParams,
        querystring: runsQuery,
        response: { 200: z.object({ runs: z.array(ruleRunSchema) }), ...errorResponses },
      },
    },
    async (req) => {
      requirePermission(req, 'tickets.read');
      return { runs: await req.inOrg((tx) => listRuns(tx, req.query)) };
    },
  );

  app.get(
    one,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'getRule',
        summary: 'One automation rule',
        params: ruleParams,
        response: { 200: ruleSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => getRule(tx, req.params.ruleId)),
  );

  app.patch(
    one,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'updateRule',
        summary: 'Change a rule, or enable or disable it (only the fields given change)',
        description: `${ACTIONS_NEED} Any change to a rule needs what its actions need once changed.`,
        params: ruleParams,
        body: ruleChanges,
        response: { 200: ruleSchema, ...errorResponses },
      },
    },
    async (req) => req.inOrg((tx) => updateRule(tx, req.params.ruleId, req.body, actorOf(req))),
  );

  app.delete(
    one,
    {
      config: { access: manage },
      schema: {
        tags: T,
        operationId: 'deleteRule',
        summary: 'Delete a rule (its run log stays, with its name)',
        params: ruleParams,
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      await req.inOrg((tx) => deleteRule(tx, req.params.ruleId, actorOf(req)));
      return { ok: true as const };
    },
  );

  app.post(
    `${one}/run`,
    {
      config: { access: manage, idempotent: true },
      schema: {
        tags: T,
        operationId: 'runRule',
        summary:
          'Run an enabled rule on one ticket now: its conditions are checked on the ticket as it is, its actions run as the rule (never re-run by the events they cause), logged and audited',
        description: `Needs \`tickets.read\` as well as \`rules.manage\` (the answer tells the ticket's number and why the rule matched it). ${ACTIONS_NEED} A time-based rule runs at once, whatever its wait; when it applies, the ticket's current wait counts as handled, so the sweep does not run it again until a new wait starts. An \`assign_in_team\` action picks as the automatic run does: a member online, in their working hours and under their capacity.`,
        params: ruleParams,
        body: runNowInput,
        response: { 200: manualRunSchema, ...errorResponses },
      },
    },
    async (req) => {
      // Checked before anything is read, as the route's own permission is.
      requirePermission(req, 'tickets.read');
      const held = req.org?.permissions ?? new Set<string>();
      // Who is online, read as the rules worker reads it, so assign_in_team picks alike.
      const online = await onlineMembers(app.deps.redis, req.params.orgId, new Date(app.settings.now()));
      return req.inOrg((tx) => runRuleNow(tx, req.params.ruleId, req.body, actorOf(req), held, { online }));
    },
  );

  app.put(
    '/v1/orgs/:orgId/teams/:teamId/members/:userId/capacity',
    {
      config: { access: { permission: 'teams.manage' } },
      schema: {
        tags: ['teams'],
        operationId: 'setTeamMemberCapacity',
        summary:
          "A member's capacity in a team for auto-assignment: at most this many open tickets (null: no limit)",
        params: z.object({ orgId: z.uuid(), teamId: z.uuid(), userId: z.uuid() }),
        body: z.object({ maxOpenTickets: z.number().int().min(0).max(10_000).nullable() }),
        response: { 200: okSchema, ...errorResponses },
      },
    },
    async (req) => {
      const { teamId, userId } = req.params;
      await req.inOrg((tx) => setMemberCapacity(tx, teamId, userId, req.body.maxOpenTickets, actorOf(req)));
      return { ok: true as const };
    },
  );
};
