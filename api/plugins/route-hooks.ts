import type { FastifyInstance, RouteOptions } from 'fastify';

type Phase = 'onRequest' | 'preValidation' | 'preHandler' | 'onSend';
type Config = NonNullable<RouteOptions['config']>;

/**
 * Adds `hook` to each route registered from now on whose config `applies`. Route hooks rather
 * than global ones: a route that doesn't need the work (a public route needs no caller, /health
 * no rate limit) doesn't pay for a call that would return at once. Hooks keep the order in which
 * the plugins add them.
 */
export function addRouteHook(
  app: FastifyInstance,
  phase: Phase,
  applies: (config: Config) => boolean,
  // biome-ignore lint/suspicious/noExplicitAny: each phase has its own hook signature
  hook: (...args: any[]) => unknown,
) {
  app.addHook('onRoute', (route) => {
    if (!applies(route.config ?? {})) return;
    const existing = route[phase];
    const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
    (route as Record<Phase, unknown>)[phase] = [...list, hook];
  });
}
