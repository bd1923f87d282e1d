/** The permission catalog (mirrored by the `permissions` table) and the default role set. */
export const PERMISSIONS = [
  'org.read',
  'org.manage',
  'members.read',
  'members.manage',
  'roles.manage',
  'teams.manage',
  'games.manage',
  'guilds.manage',
  'categories.manage',
  'canned.manage',
  'sla.manage',
  'webhooks.manage',
  'rules.manage',
  'tokens.manage',
  'retention.manage',
  'privacy.manage',
  'tickets.read',
  'tickets.create',
  'tickets.reply',
  'tickets.note',
  'tickets.assign',
  'tickets.update',
  'tickets.close',
  'tickets.merge',
  'tickets.delete',
  'players.read',
  'players.manage',
  'reports.read',
  'reports.manage',
  'audit.read',
  'analytics.read',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const TICKET_WORK: Permission[] = [
  'tickets.read',
  'tickets.create',
  'tickets.reply',
  'tickets.note',
  'tickets.assign',
  'tickets.update',
  'tickets.close',
];

export const DEFAULT_ROLES: Record<string, { name: string; permissions: readonly Permission[] }> = {
  owner: { name: 'Owner', permissions: PERMISSIONS },
  // Admins run the desk and its settings; ownership-level settings (security, the org itself) stay with owners.
  admin: { name: 'Admin', permissions: PERMISSIONS.filter((p) => p !== 'org.manage') },
  moderator: {
    name: 'Moderator',
    permissions: [
      'org.read',
      'members.read',
      ...TICKET_WORK,
      'tickets.merge',
      'players.read',
      'players.manage',
      'reports.read',
      'reports.manage',
      'canned.manage',
      'audit.read',
      'analytics.read',
    ],
  },
  agent: {
    name: 'Agent',
    permissions: ['org.read', 'members.read', ...TICKET_WORK, 'players.read', 'reports.read'],
  },
  viewer: {
    name: 'Viewer',
    permissions: [
      'org.read',
      'members.read',
      'tickets.read',
      'players.read',
      'reports.read',
      'analytics.read',
    ],
  },
};
