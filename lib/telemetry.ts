import { z } from 'zod';
import { AppError, issuesToDetails } from './errors.js';

/**
 * Whether this process exports traces, decided from the standard OpenTelemetry variables.
 *
 * These are read here and not in lib/config.ts: they are the specification's names, and the
 * SDK reads them (and the ones not listed: OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG,
 * OTEL_BSP_*, OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES...) from the environment
 * itself, with the meaning the specification gives them. What is parsed here is only what
 * decides whether the SDK loads at all, checked up front so a typo fails the start instead of
 * silently tracing nothing. The entry point hands in the same environment it gives loadConfig.
 *
 * Off (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and OTEL_TRACES_EXPORTER
 * unset, or OTEL_SDK_DISABLED=true, or OTEL_TRACES_EXPORTER=none), the SDK and the
 * instrumentations are never imported: `@opentelemetry/api` alone answers with no-ops.
 */
const endpoint = z
  .string()
  .trim()
  .refine((v) => /^https?:\/\/[^/\s]+/.test(v) && URL.canParse(v), 'an http:// or https:// URL')
  .optional();
// The exporter sends OTLP as JSON over HTTP (what every OTLP/HTTP receiver takes on :4318);
// gRPC and protobuf would each bring an exporter of their own for no gain here.
const protocol = z.literal('http/json', 'only http/json is supported (OTLP over HTTP, JSON)').optional();

export const telemetryEnvSchema = z.object({
  OTEL_SDK_DISABLED: z
    .string()
    .transform((v) => v.trim().toLowerCase() === 'true')
    .optional(),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none'], 'otlp or none').optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol,
  OTEL_SERVICE_NAME: z.string().trim().min(1).optional(),
});

export interface TelemetrySettings {
  readonly enabled: boolean;
  /** OTEL_SERVICE_NAME, or the fallback the entry point names (one per set of roles). */
  readonly serviceName: string;
}

/** Parses the variables above; throws one AppError naming every bad one. */
export function telemetrySettings(
  env: Readonly<Record<string, string | undefined>>,
  fallbackServiceName: string,
): TelemetrySettings {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith('OTEL_') && v !== undefined && v !== ''),
  );
  const parsed = telemetryEnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const details = issuesToDetails(parsed.error.issues);
    const lines = details.map((d) => `  ${d.path}: ${d.message}`).join('\n');
    throw new AppError('config_invalid', `Invalid tracing configuration:\n${lines}`, { details });
  }
  const e = parsed.data;
  const exporter =
    e.OTEL_TRACES_EXPORTER ??
    (e.OTEL_EXPORTER_OTLP_ENDPOINT || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? 'otlp' : 'none');
  return {
    enabled: !e.OTEL_SDK_DISABLED && exporter === 'otlp',
    serviceName: e.OTEL_SERVICE_NAME ?? fallbackServiceName,
  };
}

export interface Telemetry {
  readonly enabled: boolean;
  /** Ends the export: spans still buffered are sent (bounded by OTEL_BSP_EXPORT_TIMEOUT). */
  shutdown(): Promise<void>;
}

const OFF: Telemetry = { enabled: false, shutdown: async () => {} };

let serviceName: string | undefined;

/** The service name this process traces as, once tracing started: a thread of it (the relay's) uses the same. */
export const tracedServiceName = (): string | undefined => serviceName;

/**
 * Starts tracing when the settings say so. Must run before anything imports pg, ioredis, bullmq
 * or fastify: the entry point awaits it, then imports the roles (lib/telemetry-sdk.ts says why).
 */
export async function startTelemetry(settings: TelemetrySettings): Promise<Telemetry> {
  if (!settings.enabled) return OFF;
  serviceName = settings.serviceName;
  const { startTracing } = await import('./telemetry-sdk.js');
  return startTracing(settings.serviceName);
}
