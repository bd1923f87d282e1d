import type { InternalRequest, REST, RestEvents } from '@discordjs/rest';
import type { Client } from 'discord.js';

/**
 * Takes the requests an interaction's own token authorises (the edits of its original response
 * and its follow-ups: `/webhooks/<application>/<token>/...`) off the client's global budget.
 *
 * Discord does not count interaction endpoints against a bot's global 50 requests/s; the REST
 * manager of discord.js counts every request it sends, so at 200 interactions/s the answers of
 * deferred commands queued behind the global limit and reached users up to seconds late (the
 * acknowledgements were never limited: @discordjs/rest sends callbacks outside its buckets).
 * A second manager with the same options and no global limit of its own sends them instead;
 * per-route limits and 429s are still honoured there, per token as before.
 */
export function exemptInteractionTokens(client: Client): REST {
  const rest = client.rest;
  // The client's own class: discord.js loads @discordjs/rest as CommonJS, an import here would load
  // its ES module build as a second copy.
  const Manager = rest.constructor as typeof REST;
  const tokens = new Manager({ ...rest.options, globalRequestsPerSecond: Number.MAX_SAFE_INTEGER });
  // What the client reports of its REST traffic (rate limits, invalid-request warnings, debug)
  // keeps one source.
  const events = [
    'rateLimited',
    'invalidRequestWarning',
    'restDebug',
  ] as const satisfies (keyof RestEvents)[];
  for (const event of events)
    tokens.on(event, (...args: unknown[]) => rest.emit(event, ...(args as [never])));
  const queue = rest.queueRequest.bind(rest);
  rest.queueRequest = (request: InternalRequest) =>
    isInteractionToken(request, client.application?.id ?? client.user?.id)
      ? tokens.queueRequest(request)
      : queue(request);
  // The client stops its manager's sweep timers when destroyed (a shard started again makes a new
  // client); this one's stop with them, or each destroyed client stayed reachable from its timers.
  const clearHashes = rest.clearHashSweeper.bind(rest);
  const clearHandlers = rest.clearHandlerSweeper.bind(rest);
  rest.clearHashSweeper = () => {
    clearHashes();
    tokens.clearHashSweeper();
  };
  rest.clearHandlerSweeper = () => {
    clearHandlers();
    tokens.clearHandlerSweeper();
  };
  return tokens;
}

function isInteractionToken(request: InternalRequest, applicationId: string | undefined): boolean {
  // Channel webhooks the bot made have ids of their own; only the application's id is an
  // interaction's webhook. Without a token (auth false), nothing else is sent there.
  return (
    request.auth === false &&
    applicationId !== undefined &&
    request.fullRoute.startsWith(`/webhooks/${applicationId}/`)
  );
}
