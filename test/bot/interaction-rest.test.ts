import { Client } from 'discord.js';
import { describe, expect, it, vi } from 'vitest';
import { exemptInteractionTokens } from '../../bot/interaction-rest.js';

describe("the interaction tokens' REST manager", () => {
  it("stops its sweep timers when the client is destroyed, as the client's own manager does", async () => {
    const client = new Client({ intents: [] });
    const tokens = exemptInteractionTokens(client);
    const hashes = vi.spyOn(tokens, 'clearHashSweeper');
    const handlers = vi.spyOn(tokens, 'clearHandlerSweeper');
    await client.destroy();
    expect(hashes).toHaveBeenCalledOnce();
    expect(handlers).toHaveBeenCalledOnce();
  });
});
