import {
  type Attributes,
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';

/**
 * The trace context that rides along with work that leaves the request: the outbox row, then the
 * BullMQ job. Only `@opentelemetry/api` here: without the SDK (lib/telemetry.ts: tracing off)
 * its tracer is a no-op and these helpers cost an object or two.
 *
 * The W3C `traceparent` is formatted and parsed here rather than through the global propagator,
 * so what is stored does not depend on OTEL_PROPAGATORS (a b3 setting would store nothing), and
 * a relay or worker without tracing still passes the context on to the next hop.
 */

export { SpanKind };

/** `00-<trace id>-<span id>-<flags>`; anything else read back from storage or a job is ignored. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_TRACE = /^0{32}$/;
const INVALID_SPAN = /^0{16}$/;

export const tracer = trace.getTracer('gamemod');

/** The active span, if any (always none with tracing off). */
export function activeSpan(): Span | undefined {
  return trace.getActiveSpan();
}

/** The active span's context as a `traceparent`, or null when no span is active. */
export function currentTraceparent(ctx: Context = context.active()): string | null {
  const sc = trace.getSpanContext(ctx);
  if (!sc || INVALID_TRACE.test(sc.traceId) || INVALID_SPAN.test(sc.spanId)) return null;
  const flags = (sc.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return `00-${sc.traceId}-${sc.spanId}-${flags}`;
}

/** A context whose (remote) parent is `traceparent`; the root context when it is missing or malformed. */
export function contextFromTraceparent(traceparent: unknown): Context {
  if (typeof traceparent !== 'string') return ROOT_CONTEXT;
  const m = TRACEPARENT.exec(traceparent);
  if (!m || INVALID_TRACE.test(m[1] as string) || INVALID_SPAN.test(m[2] as string)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[1] as string,
    spanId: m[2] as string,
    traceFlags: Number.parseInt(m[3] as string, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  });
}

/**
 * Runs `fn` in a new active span under `parent` (default: the active context), ending it when
 * `fn` settles and marking it failed when `fn` throws.
 */
export function inSpan<T>(
  name: string,
  opts: {
    parent?: Context;
    kind?: SpanKind;
    attributes?: Attributes;
    /**
     * Links the new span to the span active now: work done under another trace's parent (a
     * sweep continuing the request that queued the item) stays findable from the sweep's trace.
     */
    linkActive?: boolean;
  },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const here = opts.linkActive ? trace.getSpanContext(context.active()) : undefined;
  return tracer.startActiveSpan(
    name,
    {
      kind: opts.kind ?? SpanKind.INTERNAL,
      ...(opts.attributes ? { attributes: opts.attributes } : {}),
      ...(here && !INVALID_TRACE.test(here.traceId) ? { links: [{ context: here }] } : {}),
    },
    opts.parent ?? context.active(),
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        failSpan(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/**
 * Starts (without activating) a span whose parent is `traceparent`, for work done for many traces
 * at once (the relay's batch); none without a parent, so untraced work starts no trace. Returns
 * the span and its own traceparent for the next hop.
 */
export function startLinkedSpan(
  name: string,
  traceparent: string | null | undefined,
  opts: { kind?: SpanKind; attributes?: Attributes } = {},
): { span: Span; traceparent: string | null } | undefined {
  const parent = contextFromTraceparent(traceparent);
  if (parent === ROOT_CONTEXT) return undefined;
  const span = tracer.startSpan(
    name,
    { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes ?? {} },
    parent,
  );
  return { span, traceparent: currentTraceparent(trace.setSpan(ROOT_CONTEXT, span)) };
}

/** Marks a span failed with the error's message (never its stack or the objects it carries). */
export function failSpan(span: Span, err: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/**
 * trace_id and span_id of the active span, for log lines (lib/logger.ts); empty without one.
 * Always a new object: pino merges the line's own fields into it.
 */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const sc = trace.getSpanContext(context.active());
  if (!sc || INVALID_TRACE.test(sc.traceId)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId };
}
