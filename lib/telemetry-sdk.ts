import { register } from 'node:module';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import type { Telemetry } from './telemetry.js';
import { instrumentDiscordRest } from './telemetry-discord.js';

/**
 * The SDK, imported only when tracing is on (lib/telemetry.ts).
 *
 * Why the hook is registered here and not with `node --import`: the app is ESM, and pg and
 * ioredis (CommonJS) reach it through `import`, which require-in-the-middle never sees; only an
 * ESM loader hook (import-in-the-middle) can hand their exports to the instrumentations, and a
 * hook only applies to modules loaded after it is registered. `--import` would have to be on
 * every command line that starts the app (`tsx main.ts`, `node dist/main.js`, shard children,
 * the image's CMD) and would load the hook even with tracing off. Instead main.ts awaits
 * `startTelemetry` before it imports the roles (`await import('./system.js')`), so everything
 * instrumented is loaded after this point under either start command. The hook is registered
 * with a message channel so it wraps only the modules an instrumentation asked for (pg,
 * pg-pool, ioredis) instead of every module of the app; `waitForAllMessagesAcknowledged` makes
 * sure the loader thread knows them before the first import.
 *
 * Node's http is patched through require-in-the-middle (fastify requires it) on the same object
 * an ESM `import http from 'node:http'` gets, so webhook requests are client spans too.
 */
export async function startTracing(serviceName: string): Promise<Telemetry> {
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  const provider = new NodeTracerProvider({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (envDetector) win over the role-based name.
    resource: defaultResource()
      .merge(resourceFromAttributes({ 'service.name': serviceName }))
      .merge(detectResources({ detectors: [envDetector] })),
    // The exporter reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and _HEADERS; the processor
    // OTEL_BSP_*; the provider OTEL_TRACES_SAMPLER(_ARG) (parent-based always-on by default).
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // W3C trace context and baggage; the async-hooks context manager.
  provider.register();

  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        // Probes and scrapes would be most of the traces and tell nothing.
        ignoreIncomingRequestHook: (req) => {
          const path = req.url?.split('?')[0];
          return path === '/health' || path === '/metrics';
        },
      }),
      // Only inside a trace: the relay's polling, BullMQ's blocking reads and the pool's idle
      // checks would otherwise each start a trace of their own, several a second. No span per
      // pool checkout: two more spans per transaction, and a wait for a connection already shows
      // as the gap before its BEGIN.
      new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });
  await waitForAllMessagesAcknowledged();
  // Discord REST calls: a client span each (lib/telemetry-discord.ts says how and why).
  instrumentDiscordRest();

  return {
    enabled: true,
    async shutdown() {
      // Flushes what the batch processor holds, then stops exporting.
      await provider.shutdown();
    },
  };
}
