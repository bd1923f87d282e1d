import { z } from 'zod';
import type { Json } from './state.js';

/** Discord's documented limits that users hit; the schemas below enforce them. */
export const LIMITS = {
  messageContent: 2000,
  embedsPerMessage: 10,
  embedTotalChars: 6000,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  embedFieldName: 256,
  embedFieldValue: 1024,
  embedFooter: 2048,
  embedAuthor: 256,
  actionRows: 5,
  componentsPerRow: 5,
  selectOptions: 25,
  modalInputs: 5,
  modalTitle: 45,
  customId: 100,
  buttonLabel: 80,
  threadName: 100,
  channelName: 100,
  channelsPerCategory: 50,
  channelsPerGuild: 500,
  commandName: 32,
  commandDescription: 100,
  commandOptions: 25,
  commandChoices: 25,
  chatInputCommands: 100,
  contextMenuCommands: 5,
} as const;

/** Messages of the form `CODE|message` become Discord's `{ code, message }` field errors. */
function maxMsg(n: number): string {
  return `BASE_TYPE_MAX_LENGTH|Must be ${n} or fewer in length.`;
}
function betweenMsg(min: number, max: number): string {
  return `BASE_TYPE_BAD_LENGTH|Must be between ${min} and ${max} in length.`;
}

/** A string of at most `max` characters (or between `min` and `max`). */
export function str(max: number, min?: number) {
  if (min !== undefined) return z.string().min(min, betweenMsg(min, max)).max(max, betweenMsg(min, max));
  return z.string().max(max, maxMsg(max));
}

export function list<T extends z.ZodType>(item: T, max: number, min?: number) {
  const base = z.array(item).max(max, maxMsg(max));
  return min === undefined ? base : base.min(min, `BASE_TYPE_MIN_LENGTH|Must be ${min} or more in length.`);
}

const snowflake = z.string().regex(/^\d{17,20}$/, 'NUMBER_TYPE_COERCE|Value is not snowflake.');
const customId = str(LIMITS.customId, 1);

const embedSchema = z.looseObject({
  title: str(LIMITS.embedTitle).optional(),
  description: str(LIMITS.embedDescription).optional(),
  url: z.string().optional(),
  color: z.number().int().min(0).max(0xffffff).optional(),
  footer: z.looseObject({ text: str(LIMITS.embedFooter, 1) }).optional(),
  author: z.looseObject({ name: str(LIMITS.embedAuthor, 1) }).optional(),
  fields: list(
    z.looseObject({
      name: str(LIMITS.embedFieldName, 1),
      value: str(LIMITS.embedFieldValue, 1),
      inline: z.boolean().optional(),
    }),
    LIMITS.embedFields,
  ).optional(),
});

const buttonSchema = z
  .looseObject({
    type: z.literal(2),
    style: z.literal([1, 2, 3, 4, 5, 6]),
    label: str(LIMITS.buttonLabel).optional(),
    custom_id: customId.optional(),
    url: z.string().optional(),
    sku_id: snowflake.optional(),
    disabled: z.boolean().optional(),
  })
  .superRefine((b, ctx) => {
    if (b.style === 5 && !b.url)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'BUTTON_URL_REQUIRED|A URL is required.' });
    if (b.style !== 5 && b.style !== 6 && !b.custom_id) {
      ctx.addIssue({
        code: 'custom',
        path: ['custom_id'],
        message: 'BASE_TYPE_REQUIRED|This field is required',
      });
    }
  });

const selectOption = z.looseObject({
  label: str(100, 1),
  value: str(100, 1),
  description: str(100).optional(),
  default: z.boolean().optional(),
});

const selectSchema = z
  .looseObject({
    type: z.literal([3, 5, 6, 7, 8]),
    custom_id: customId,
    options: list(selectOption, LIMITS.selectOptions, 1).optional(),
    placeholder: str(150).optional(),
    min_values: z.number().int().min(0).max(25).optional(),
    max_values: z.number().int().min(1).max(25).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.type === 3 && !s.options) {
      ctx.addIssue({
        code: 'custom',
        path: ['options'],
        message: 'BASE_TYPE_REQUIRED|This field is required',
      });
    }
    if (s.type === 3 && s.options && s.max_values !== undefined && s.max_values > s.options.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_values'],
        message: `BASE_TYPE_MAX|int value should be less than or equal to ${s.options.length}.`,
      });
    }
  });

const actionRow = z
  .looseObject({
    type: z.literal(1),
    components: list(z.discriminatedUnion('type', [buttonSchema, selectSchema]), LIMITS.componentsPerRow, 1),
  })
  .superRefine((row, ctx) => {
    const selects = row.components.filter((c) => c.type !== 2).length;
    if (selects > 0 && row.components.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['components'],
        message: 'COMPONENT_LAYOUT_WIDTH_EXCEEDED|The specified component exceeds the maximum width',
      });
    }
  });

const COMPONENTS_V2 = 1 << 15;

export const messageBodySchema = z
  .looseObject({
    content: str(LIMITS.messageContent).nullable().optional(),
    embeds: list(embedSchema, LIMITS.embedsPerMessage).nullable().optional(),
    components: z.array(z.unknown()).nullable().optional(),
    flags: z.number().int().nullable().optional(),
    tts: z.boolean().optional(),
    allowed_mentions: z.unknown().optional(),
    message_reference: z.unknown().optional(),
    attachments: z.array(z.unknown()).optional(),
    sticker_ids: z.array(z.string()).optional(),
    username: str(80, 1).optional(),
    avatar_url: z.string().optional(),
    thread_name: str(LIMITS.threadName, 1).optional(),
    nonce: z.union([z.number().int(), str(25)]).optional(),
    enforce_nonce: z.boolean().optional(),
  })
  .superRefine((m, ctx) => {
    const total = (m.embeds ?? []).reduce<number>((n, e) => {
      const fields = e.fields ?? [];
      return (
        n +
        (e.title?.length ?? 0) +
        (e.description?.length ?? 0) +
        (e.footer?.text.length ?? 0) +
        (e.author?.name.length ?? 0) +
        fields.reduce((k, f) => k + f.name.length + f.value.length, 0)
      );
    }, 0);
    if (total > LIMITS.embedTotalChars) {
      ctx.addIssue({
        code: 'custom',
        path: ['embeds'],
        message: `BASE_TYPE_MAX_LENGTH|Embed size exceeds maximum size of ${LIMITS.embedTotalChars}`,
      });
    }
    if (!m.components) return;
    if ((m.flags ?? 0) & COMPONENTS_V2) {
      if (m.components.length > 40)
        ctx.addIssue({ code: 'custom', path: ['components'], message: maxMsg(40) });
      return;
    }
    if (m.components.length > LIMITS.actionRows) {
      ctx.addIssue({ code: 'custom', path: ['components'], message: maxMsg(LIMITS.actionRows) });
    }
    for (const [i, row] of m.components.entries()) {
      const parsed = actionRow.safeParse(row);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          ctx.addIssue({ code: 'custom', path: ['components', i, ...issue.path], message: issue.message });
        }
      }
    }
  });

export type MessageBody = z.infer<typeof messageBodySchema>;

const textInput = z.looseObject({
  type: z.literal(4),
  custom_id: customId,
  style: z.literal([1, 2]),
  label: str(LIMITS.modalTitle, 1).optional(),
  min_length: z.number().int().min(0).max(4000).optional(),
  max_length: z.number().int().min(1).max(4000).optional(),
  required: z.boolean().optional(),
  value: str(4000).optional(),
  placeholder: str(100).optional(),
});

const modalRow = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal(1), components: list(textInput, 1, 1) }),
  z.looseObject({
    type: z.literal(18),
    label: str(LIMITS.modalTitle, 1),
    description: str(100).optional(),
    component: z.discriminatedUnion('type', [textInput, selectSchema]),
  }),
  z.looseObject({ type: z.literal(10), content: str(4000, 1) }),
]);

export const modalSchema = z.looseObject({
  custom_id: customId,
  title: str(LIMITS.modalTitle, 1),
  components: list(modalRow, LIMITS.modalInputs, 1),
});

export const threadCreateSchema = z.looseObject({
  name: str(LIMITS.threadName, 1),
  type: z.literal([10, 11, 12]).optional(),
  auto_archive_duration: z.literal([60, 1440, 4320, 10080]).optional(),
  invitable: z.boolean().optional(),
  rate_limit_per_user: z.number().int().min(0).max(21600).nullable().optional(),
  applied_tags: list(snowflake, 5).optional(),
  message: messageBodySchema.optional(),
});

export const channelCreateSchema = z.looseObject({
  name: str(LIMITS.channelName, 1),
  type: z.literal([0, 2, 4, 5, 13, 14, 15, 16]).optional(),
  topic: str(4096).nullable().optional(),
  parent_id: snowflake.nullable().optional(),
  position: z.number().int().nullable().optional(),
  nsfw: z.boolean().nullable().optional(),
  rate_limit_per_user: z.number().int().min(0).max(21600).nullable().optional(),
  permission_overwrites: z.array(z.unknown()).nullable().optional(),
});

export const channelModifySchema = z.looseObject({
  name: str(LIMITS.channelName, 1).optional(),
  topic: str(4096).nullable().optional(),
  archived: z.boolean().optional(),
  locked: z.boolean().optional(),
  invitable: z.boolean().optional(),
  auto_archive_duration: z.literal([60, 1440, 4320, 10080]).optional(),
  parent_id: snowflake.nullable().optional(),
  applied_tags: list(snowflake, 5).optional(),
  position: z.number().int().nullable().optional(),
});

const CHAT_INPUT_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

/** Discord's locales: localization maps keyed by anything else are refused (50035). */
const LOCALES = new Set(
  'id da de en-GB en-US es-ES es-419 fr hr it lt hu nl no pl pt-BR ro fi sv-SE vi tr cs el bg ru uk hi th zh-CN ja zh-TW ko'.split(
    ' ',
  ),
);
const localized = (value: z.ZodType<string>) =>
  z
    .record(
      z.string().refine((k) => LOCALES.has(k), 'LOCALE_INVALID|Invalid locale'),
      value,
    )
    .nullable()
    .optional();

const choice = z.looseObject({
  name: str(100, 1),
  name_localizations: localized(str(100, 1)),
  value: z.union([str(100, 1), z.number()]),
});

interface CommandOption {
  type: number;
  name: string;
  description: string;
  required?: boolean | undefined;
  choices?: z.infer<typeof choice>[] | undefined;
  options?: CommandOption[] | undefined;
}

const optionName = z
  .string()
  .regex(CHAT_INPUT_NAME, 'APPLICATION_COMMAND_INVALID_NAME|Command name is invalid')
  .refine((n) => n === n.toLowerCase(), 'APPLICATION_COMMAND_INVALID_NAME|Command name is invalid');

const optionSchema: z.ZodType<CommandOption> = z.lazy(() =>
  z.looseObject({
    type: z.number().int().min(1).max(11),
    name: optionName,
    name_localizations: localized(optionName),
    description: str(LIMITS.commandDescription, 1),
    description_localizations: localized(str(LIMITS.commandDescription, 1)),
    required: z.boolean().optional(),
    choices: list(choice, LIMITS.commandChoices).optional(),
    options: list(optionSchema, LIMITS.commandOptions).optional(),
  }),
);

function checkOptions(
  options: CommandOption[] | undefined,
  path: (string | number)[],
  ctx: z.RefinementCtx,
): void {
  if (!options) return;
  const seen = new Set<string>();
  let optionalSeen = false;
  for (const [i, o] of options.entries()) {
    if (seen.has(o.name)) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, i, 'name'],
        message: 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS|Option names must be unique',
      });
    }
    seen.add(o.name);
    if (o.type > 2) {
      if (o.required && optionalSeen) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, i, 'required'],
          message:
            'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID|Required options must be placed before non-required options',
        });
      }
      if (!o.required) optionalSeen = true;
    }
    checkOptions(o.options, [...path, i, 'options'], ctx);
  }
}

export const commandSchema = z
  .looseObject({
    name: z.string(),
    type: z.literal([1, 2, 3, 4]).optional(),
    description: z.string().optional(),
    // Checked below by type: chat input names follow the option name rule, menu names 1-32.
    name_localizations: localized(z.string()),
    description_localizations: localized(str(LIMITS.commandDescription, 1)),
    options: list(optionSchema, LIMITS.commandOptions).optional(),
    default_member_permissions: z.string().nullable().optional(),
    contexts: z.array(z.number()).nullable().optional(),
    integration_types: z.array(z.number()).optional(),
    nsfw: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    const type = c.type ?? 1;
    if (type === 1) {
      const nameOk = optionName.safeParse(c.name);
      if (!nameOk.success) {
        ctx.addIssue({
          code: 'custom',
          path: ['name'],
          message: 'APPLICATION_COMMAND_INVALID_NAME|Command name is invalid',
        });
      }
      const d = c.description ?? '';
      if (d.length < 1 || d.length > LIMITS.commandDescription) {
        ctx.addIssue({
          code: 'custom',
          path: ['description'],
          message: betweenMsg(1, LIMITS.commandDescription),
        });
      }
      for (const [locale, name] of Object.entries(c.name_localizations ?? {})) {
        if (!optionName.safeParse(name).success) {
          ctx.addIssue({
            code: 'custom',
            path: ['name_localizations', locale],
            message: 'APPLICATION_COMMAND_INVALID_NAME|Command name is invalid',
          });
        }
      }
      checkOptions(c.options, ['options'], ctx);
    } else {
      for (const [locale, name] of Object.entries(c.name_localizations ?? {})) {
        if (name.length < 1 || name.length > LIMITS.commandName) {
          ctx.addIssue({
            code: 'custom',
            path: ['name_localizations', locale],
            message: betweenMsg(1, LIMITS.commandName),
          });
        }
      }
      if (c.description_localizations && Object.keys(c.description_localizations).length) {
        ctx.addIssue({
          code: 'custom',
          path: ['description_localizations'],
          message:
            'APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION|Context menu commands cannot have description',
        });
      }
      if (c.name.length < 1 || c.name.length > LIMITS.commandName) {
        ctx.addIssue({ code: 'custom', path: ['name'], message: betweenMsg(1, LIMITS.commandName) });
      }
      if (c.description) {
        ctx.addIssue({
          code: 'custom',
          path: ['description'],
          message:
            'APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION|Context menu commands cannot have description',
        });
      }
    }
  });

export const commandListSchema = z.array(commandSchema).superRefine((cmds, ctx) => {
  const seen = new Set<string>();
  const counts = new Map<number, number>();
  for (const [i, c] of cmds.entries()) {
    const type = c.type ?? 1;
    const key = `${type}:${c.name}`;
    if (seen.has(key)) {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'name'],
        message: 'APPLICATION_COMMANDS_DUPLICATE_NAME|Application command names must be unique',
      });
    }
    seen.add(key);
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  const chat = counts.get(1) ?? 0;
  if (chat > LIMITS.chatInputCommands)
    ctx.addIssue({ code: 'custom', path: [], message: maxMsg(LIMITS.chatInputCommands) });
  for (const t of [2, 3]) {
    if ((counts.get(t) ?? 0) > LIMITS.contextMenuCommands) {
      ctx.addIssue({ code: 'custom', path: [], message: maxMsg(LIMITS.contextMenuCommands) });
    }
  }
});

export interface FieldError {
  code: string;
  message: string;
}

/** Discord's nested `errors` object: `{ content: { _errors: [...] } }`, array indexes as keys. */
export function discordErrors(issues: readonly z.core.$ZodIssue[]): Json {
  const root: Json = {};
  for (const issue of issues) {
    const err = toFieldError(issue);
    let node: Json = root;
    for (const key of issue.path) {
      const k = String(key);
      const next = node[k];
      if (next && typeof next === 'object') {
        node = next as Json;
      } else {
        const created: Json = {};
        node[k] = created;
        node = created;
      }
    }
    const list = (node['_errors'] as FieldError[] | undefined) ?? [];
    list.push(err);
    node['_errors'] = list;
  }
  return root;
}

function toFieldError(issue: z.core.$ZodIssue): FieldError {
  const sep = issue.message.indexOf('|');
  if (sep > 0 && /^[A-Z_]+$/.test(issue.message.slice(0, sep))) {
    return { code: issue.message.slice(0, sep), message: issue.message.slice(sep + 1) };
  }
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return { code: 'BASE_TYPE_REQUIRED', message: 'This field is required' };
      return {
        code: issue.expected === 'string' ? 'BASE_TYPE_STRING' : 'BASE_TYPE_INVALID',
        message: `Could not interpret "${String(issue.input)}" as ${issue.expected}.`,
      };
    case 'invalid_value':
    case 'invalid_union':
      return { code: 'BASE_TYPE_CHOICES', message: 'Value must be one of the allowed values.' };
    case 'too_big':
      return {
        code: 'NUMBER_TYPE_MAX',
        message: `int value should be less than or equal to ${String(issue.maximum)}.`,
      };
    case 'too_small':
      return {
        code: 'NUMBER_TYPE_MIN',
        message: `int value should be greater than or equal to ${String(issue.minimum)}.`,
      };
    default:
      return { code: 'BASE_TYPE_INVALID', message: issue.message };
  }
}
