-- Up Migration

-- The W3C trace context of the request (or job) that wrote the event, so the relay and the jobs
-- it enqueues join that trace (lib/trace-context.ts). Null when tracing is off or nothing was
-- being traced. Checked so nothing but a well-formed traceparent is ever handed back out.
alter table outbox add column traceparent text
  check (traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');

-- Down Migration

alter table outbox drop column traceparent;
