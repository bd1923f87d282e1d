import {
  WebSocketShard,
  WorkerBootstrapper,
  WorkerContextFetchingStrategy,
  WorkerReceivePayloadOp,
} from '@discordjs/ws';
import { describe, expect, it } from 'vitest';

/**
 * `bot/gateway-thread.ts` builds on parts of @discordjs/ws that are not its public API: the
 * bootstrapper's protected steps, the worker context strategy's session calls, the shard's
 * private map of pending waits (cleared before a destroy, or a stop hangs), and the worker
 * protocol's opcodes. An upgrade that changes any of them must fail here, not silently bring the
 * hang back; the version is pinned in package.json for the same reason.
 */
describe('the @discordjs/ws internals the gateway thread relies on', () => {
  it('are where the thread expects them', () => {
    for (const step of ['connect', 'destroy', 'setupThreadEvents', 'bootstrap'] as const) {
      expect(typeof (WorkerBootstrapper.prototype as unknown as Record<string, unknown>)[step]).toBe(
        'function',
      );
    }
    for (const call of ['retrieveSessionInfo', 'updateSessionInfo'] as const) {
      expect(typeof WorkerContextFetchingStrategy.prototype[call]).toBe('function');
    }
    const shard = new WebSocketShard({ options: {} } as never, 0) as unknown as {
      timeoutAbortControllers?: unknown;
    };
    expect(shard.timeoutAbortControllers).toBeInstanceOf(Map);
    expect(WorkerReceivePayloadOp.Event).toBeDefined();
    expect(WorkerReceivePayloadOp.WorkerReady).toBeDefined();
  });
});
