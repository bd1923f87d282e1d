/**
 * How each interaction is first answered, as data: the handlers declare it, and the gateway
 * thread (`gateway-thread.ts`) gets a copy so it can acknowledge an interaction the moment its
 * frame arrives, whatever the main thread is busy with. This module imports nothing, so the
 * gateway thread loads none of the bot's handlers.
 */

/**
 * `defer`: acknowledged with an ephemeral deferred reply before the handler runs, so no database
 * or REST latency can miss Discord's 3 s. `self`: the handler's first act is its own answer (a
 * modal, which cannot follow a defer, or a deferred update) and it does no I/O before it.
 */
export type Ack = 'defer' | 'self';

/** A command answered by a form when it lacks an option (`/ticket open` without a subject): `self` then, else `defer`. */
export interface AckUnless {
  selfWithout: { subcommand: string; option: string }[];
}

export type CommandAck = Ack | AckUnless;

/** Every command's and component action's first answer, by command name and by `gm:<action>`. */
export interface AckTable {
  commands: Record<string, CommandAck>;
  components: Record<string, Ack>;
}

/** The ack of a command, given its subcommand and which options were given. */
export function commandAck(
  ack: CommandAck,
  subcommand: string | null,
  has: (option: string) => boolean,
): Ack {
  if (typeof ack === 'string') return ack;
  return ack.selfWithout.some((w) => w.subcommand === subcommand && !has(w.option)) ? 'self' : 'defer';
}

/** The parts of an INTERACTION_CREATE payload the decision reads. */
interface RawOption {
  name: string;
  type: number;
  options?: RawOption[];
}
export interface RawInteraction {
  type: number;
  data?: { name?: string; custom_id?: string; options?: RawOption[] };
}

const SUBCOMMAND = 1;
const SUBCOMMAND_GROUP = 2;
const APPLICATION_COMMAND = 2;
const MESSAGE_COMPONENT = 3;
const MODAL_SUBMIT = 5;

/**
 * The ack of a raw interaction, or null when the table does not name it (autocomplete, an
 * unknown command or button): the main thread answers those itself.
 */
export function rawAck(table: AckTable, i: RawInteraction): Ack | null {
  if (i.type === APPLICATION_COMMAND) {
    const name = i.data?.name ?? '';
    if (!Object.hasOwn(table.commands, name)) return null;
    const ack = table.commands[name] as CommandAck;
    let options = i.data?.options ?? [];
    let subcommand: string | null = null;
    for (;;) {
      const first = options[0];
      if (first?.type !== SUBCOMMAND && first?.type !== SUBCOMMAND_GROUP) break;
      subcommand = first.name;
      options = first.options ?? [];
    }
    return commandAck(ack, subcommand, (name) => options.some((o) => o.name === name));
  }
  if (i.type === MESSAGE_COMPONENT || i.type === MODAL_SUBMIT) {
    const [prefix, action] = (i.data?.custom_id ?? '').split(':');
    if (prefix !== 'gm' || action === undefined || !Object.hasOwn(table.components, action)) return null;
    return table.components[action] ?? null;
  }
  return null;
}

/** What the main thread sends the gateway thread when it asks (`gateway.ts`). */
export interface GatewayThreadConfig {
  /** `<api>/v<version>`: where interaction callbacks go. */
  apiBase: string;
  userAgent: string;
  acks: AckTable;
}

/**
 * Asked of the gateway thread over the port its config came on: the V8 heap its isolate uses,
 * which the process's heap figures (the main isolate's) leave out. `gc` collects first where the
 * process runs with `--expose-gc` (a measurement), and is ignored otherwise.
 */
export interface ThreadHeapRequest {
  heap: number;
  gc: boolean;
}
export interface ThreadHeapReply {
  heap: number;
  usedBytes: number;
}

/**
 * Set on an INTERACTION_CREATE payload the gateway thread acknowledged (`at`), was refused for
 * (`refused`: a replay), or sent without learning the outcome (`unsure`: no answer in time, or
 * the connection dropped; Discord may have taken it).
 */
export const EARLY_ACK = 'gamemod_early_ack';
export type EarlyAck =
  /** `sent`: when the request left (ms since the epoch, below the millisecond), for measurements. */
  { at: number; sent: number } | { refused: number } | { unsure: true };

/** How long a stop waits for the gateway thread's shards to close (Discord answers a close at once). */
export const GATEWAY_CLOSE_WAIT_MS = 3_000;
