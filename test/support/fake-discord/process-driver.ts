import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What `process.ts` is told: play a round of `/ticket <sub>` interactions, or stop. */
export type ToFakeProcess =
  | {
      type: 'round';
      /** Interactions per second, over `ms` (at least one). */
      rate: number;
      ms: number;
      /** Wait before the first one: lets the caller be busy before it arrives. */
      delayMs?: number;
      /** Also wait for each one's answer (the edit of its deferred reply). */
      waitForAnswers: boolean;
      userIds: 'staff' | 'players';
      /** The channel they are sent from; the support channel by default. */
      threadId?: string;
      sub: string;
      /** A `subject` option (numbered per interaction), as `/ticket open` takes. */
      subject?: string;
    }
  | { type: 'stop' };

export type FromFakeProcess =
  | { type: 'ready'; url: string; token: string; guildId: string; supportId: string; moderatorRoleId: string }
  | {
      type: 'done';
      /** Each interaction's acknowledgement latency, or null when none came within 3 s. */
      acks: (number | null)[];
      /** Each one's callback type (5: deferred, 9: a form), or null. */
      ackTypes: (number | null)[];
      answers: string[];
      answerMs: number[];
      /** When each was dispatched (ms since the epoch, below the millisecond). */
      sent: [id: string, at: number][];
      cpuMs: number;
      /** The fake's own event-loop delay over the round (a busy fake times callbacks late). */
      loopDelayMs: { p99: number; max: number };
    }
  | { type: 'error'; message: string };

export type FakeRound = Extract<FromFakeProcess, { type: 'done' }>;

export interface FakeDiscordProcess {
  readonly ready: Extract<FromFakeProcess, { type: 'ready' }>;
  /** Sends a round and resolves with what the fake saw of it. */
  play(round: Omit<Extract<ToFakeProcess, { type: 'round' }>, 'type'>): Promise<FakeRound>;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./process.ts', import.meta.url));

function nextMessage(child: ChildProcess): Promise<FromFakeProcess> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the fake Discord process exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (m: FromFakeProcess) => {
      child.off('exit', onExit);
      if (m.type === 'error') reject(new Error(m.message));
      else resolve(m);
    });
  });
}

/** Starts the fake Discord of `process.ts` in a child process and waits until it listens. */
export async function startFakeDiscordProcess(): Promise<FakeDiscordProcess> {
  const child = fork(ENTRY, [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await nextMessage(child).catch((err: unknown) => {
    child.kill();
    throw err;
  });
  if (ready.type !== 'ready') throw new Error('unexpected message from the fake Discord process');
  return {
    ready,
    async play(round) {
      // Sent before waiting: the IPC write leaves at once, even if the caller then blocks.
      const answer = nextMessage(child);
      child.send({ type: 'round', ...round } satisfies ToFakeProcess);
      const m = await answer;
      if (m.type !== 'done') throw new Error('unexpected message from the fake Discord process');
      return m;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'stop' } satisfies ToFakeProcess);
      await exited;
    },
  };
}
