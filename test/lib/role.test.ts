import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/logger.js';
import { stopStep } from '../../lib/role.js';

describe('a step of a stop', () => {
  it('is named in the log while it outlasts its time, and not when it is quick', async () => {
    const lines: { step?: string; msg?: string }[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)) as { step?: string; msg?: string });
        done();
      },
    });
    const logger = createLogger('info', {}, sink);
    expect(await stopStep(logger, 'quick', async () => 1, 50)).toBe(1);
    await stopStep(logger, 'job processors', () => sleep(150), 50);
    await expect(stopStep(logger, 'failing', () => Promise.reject(new Error('no')), 50)).rejects.toThrow(
      'no',
    );
    await sleep(100);
    expect(lines.map((l) => [l.step, l.msg])).toEqual([['job processors', 'still stopping']]);
  });
});
