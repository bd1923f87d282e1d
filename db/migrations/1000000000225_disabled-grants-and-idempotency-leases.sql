-- Up Migration

-- Disabling an account revokes, for good, the OAuth grants the person gave (cli user disable):
-- an app acting for someone who may not act must not come back if the account is enabled again.
alter table oauth_grants drop constraint oauth_grants_revoked_reason_check;
alter table oauth_grants add constraint oauth_grants_revoked_reason_check
  check (revoked_reason in ('revoked', 'refresh_reuse', 'code_reuse', 'client_revoked', 'member_removed',
                            'account_disabled'));

-- An Idempotency-Key claim is held for as long as its request runs: the instance running it
-- pushes lease_until forward while it works (api/plugins/idempotency.ts), and a retry may take the
-- key over only once the lease has lapsed, which happens within one lease of a crash. Null once
-- the response is stored. A claim already open keeps the 10 minutes it was given.
alter table idempotency_keys add column lease_until timestamptz;
update idempotency_keys set lease_until = created_at + interval '10 minutes' where response_status is null;

-- Down Migration

alter table idempotency_keys drop column lease_until;

-- Not validated: grants revoked for a disabled account stay revoked (and readable) with their reason.
alter table oauth_grants drop constraint oauth_grants_revoked_reason_check;
alter table oauth_grants add constraint oauth_grants_revoked_reason_check
  check (revoked_reason in ('revoked', 'refresh_reuse', 'code_reuse', 'client_revoked', 'member_removed')) not valid;
