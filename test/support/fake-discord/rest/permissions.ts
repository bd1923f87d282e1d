import { z } from 'zod';
import {
  channelPermissions,
  checkOverwriteBits,
  hasExplicitManageRoles,
  Perm,
  requireBot,
} from '../access.js';
import { Errors, noContent, type Route } from '../context.js';
import { dispatchChannelUpdate, isReply, messageChannel, parse } from './common.js';

const overwriteSchema = z.looseObject({
  type: z.union([z.literal(0), z.literal(1)]),
  allow: z.string().regex(/^\d+$/).nullable().optional(),
  deny: z.string().regex(/^\d+$/).nullable().optional(),
});

type Overwrite = { id: string; type: number; allow: string; deny: string };

/** Channel permission overwrites (what a dedicated ticket channel uses to let a member in or out). */
export const permissionRoutes: Route[] = [
  {
    method: 'PUT',
    template: '/channels/:channel_id/permissions/:overwrite_id',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = messageChannel(fake, req.params['channel_id']);
      if (isReply(channel)) return channel;
      if (channel.thread_metadata) return Errors.wrongChannelType();
      const parsed = parse(overwriteSchema, req.body);
      if (!parsed.ok) return parsed.reply;
      const id = req.params['overwrite_id'] ?? '';
      const guild = fake.state.guilds.get(channel.guild_id);
      const known = parsed.data.type === 0 ? guild?.roles.has(id) : guild?.members.has(id);
      if (!known) return parsed.data.type === 0 ? Errors.unknownRole() : Errors.unknownMember();
      const refused =
        requireBot(fake.state, channel, Perm.ManageRoles) ??
        checkOverwriteBits(
          fake.state,
          channel.guild_id,
          channelPermissions(fake.state, channel, fake.state.botUser.id),
          [parsed.data],
          hasExplicitManageRoles(fake.state, channel),
        );
      if (refused) return refused;
      const list = channel.permission_overwrites as Overwrite[];
      const next: Overwrite = {
        id,
        type: parsed.data.type,
        allow: parsed.data.allow ?? '0',
        deny: parsed.data.deny ?? '0',
      };
      channel.permission_overwrites = [...list.filter((o) => o.id !== id), next];
      dispatchChannelUpdate(fake, channel);
      return noContent();
    },
  },
  {
    method: 'DELETE',
    template: '/channels/:channel_id/permissions/:overwrite_id',
    auth: 'bot',
    handler: (req, fake) => {
      const channel = messageChannel(fake, req.params['channel_id']);
      if (isReply(channel)) return channel;
      if (channel.thread_metadata) return Errors.wrongChannelType();
      const refused = requireBot(fake.state, channel, Perm.ManageRoles);
      if (refused) return refused;
      const id = req.params['overwrite_id'] ?? '';
      const list = channel.permission_overwrites as Overwrite[];
      // Discord answers 204 whether or not the overwrite existed.
      channel.permission_overwrites = list.filter((o) => o.id !== id);
      dispatchChannelUpdate(fake, channel);
      return noContent();
    },
  },
];
