-- Up Migration

-- webhook.created and webhook.updated audit entries recorded the subscription's whole URL, and
-- receivers often carry their token in its path or query (/catch/123/<token>, ?key=...). The
-- audit log is read by roles that may not see webhooks (moderators, audit:read tokens), so the
-- entries now keep only the origin, as webhook.disabled always did (db/webhooks.ts), and an
-- update says urlChanged. This rewrites the entries already stored the same way.
--
-- audit_logs is append-only by grants (the app role has select and insert only), not by trigger,
-- and is forced under row-level security: the owner's own policies (definer_read, and
-- definer_update from 1000000000110, which gm_scrub_player_history uses to blank a player's
-- entries) reach only the current tenant's rows. So the rewrite runs the same way, one
-- organization at a time with app.org_id set for the transaction, rather than lifting the force.
do $$
declare
  o uuid;
begin
  for o in select id from public.organizations loop
    perform set_config('app.org_id', o::text, true);
    with parts as (
      select a.id, a.action,
             regexp_match(a.data ->> 'url', '^([A-Za-z][A-Za-z0-9+.-]*://)(?:[^@/?#]*@)?([^/?#]*)(.*)$') as p
        from public.audit_logs a
       where a.org_id = o
         and a.action in ('webhook.created', 'webhook.updated')
         and jsonb_typeof(a.data -> 'url') = 'string'
         and not (a.data ? 'urlChanged')
    ), shown as (
      select id, action,
             case when p is null then '(invalid URL)'
                  else lower(p[1]) || lower(p[2]) || case when p[3] in ('', '/') then '' else '/…' end
             end as url
        from parts
    )
    update public.audit_logs a
       set data = case when s.action = 'webhook.created' then jsonb_set(a.data, '{url}', to_jsonb(s.url))
                       else (a.data - 'url') || jsonb_build_object('urlChanged', true, 'url', s.url) end
      from shown s
     where a.org_id = o and a.id = s.id and a.data ->> 'url' is distinct from s.url;
  end loop;
  perform set_config('app.org_id', '', true);
end
$$;

-- Down Migration

-- Nothing to undo: the full URLs are gone on purpose (the subscriptions still hold them).
select 1;
