-- Up Migration

-- The email bridge: the addresses an organization receives mail at, its HTTP intake secret,
-- players' email identities (with the bounce state of each address), one reply token per
-- email ticket (plus-address and body marker), and the log of every mail received or sent
-- (Message-IDs for threading, envelope and headers, the raw copy in storage, parse errors).

create table email_inbound_addresses (
  id          uuid primary key default gen_random_uuid(),
  org_id      uuid not null references organizations (id) on delete cascade,
  -- lowercase, without a plus part; replies come back to local+token@domain
  address     text not null check (address = lower(address) and char_length(address) between 3 and 254
                and address ~ '^[^@+\s]+@[^@\s]+$'),
  -- the display name outgoing mail from this address carries
  sender_name text check (char_length(sender_name) between 1 and 100),
  -- the address replies are sent from; at most one per organization
  is_default  boolean not null default false,
  created_at  timestamptz not null default now(),
  unique (org_id, id),
  -- an address names one organization: the intake finds the tenant by it
  unique (address)
);
create index email_inbound_addresses_org_id_idx on email_inbound_addresses (org_id);
create unique index email_inbound_addresses_one_default on email_inbound_addresses (org_id) where is_default;

-- The secret that authenticates POST /v1/inbound/email/{orgSlug}; only its SHA-256 is kept.
create table email_intake_secrets (
  org_id      uuid primary key references organizations (id) on delete cascade,
  secret_hash bytea not null check (length(secret_hash) = 32),
  -- the visible start of the secret, so staff can tell one from another
  prefix      text not null check (char_length(prefix) between 4 and 20),
  created_at  timestamptz not null default now()
);

-- A player's email addresses: the intake links a sender to their profile (and so to their
-- Discord and game identities), and a bounce marks the one address that failed.
create table player_email_addresses (
  id                   uuid primary key default gen_random_uuid(),
  org_id               uuid not null references organizations (id) on delete cascade,
  player_id            uuid not null,
  address              text not null check (address = lower(address) and char_length(address) between 3 and 320
                         and position('@' in address) > 1),
  undeliverable_at     timestamptz,
  undeliverable_reason text check (char_length(undeliverable_reason) between 1 and 500),
  created_at           timestamptz not null default now(),
  unique (org_id, id),
  unique (org_id, address),
  foreign key (org_id, player_id) references player_profiles (org_id, id) on delete cascade
);
create index player_email_addresses_org_id_player_id_idx on player_email_addresses (org_id, player_id);

-- One per email ticket: the opaque token of its reply address (support+<token>@...) and of the
-- [ref:<token>] marker in every outgoing body, and where replies go.
create table email_threads (
  org_id          uuid not null references organizations (id) on delete cascade,
  ticket_id       uuid not null,
  token           text not null check (token ~ '^[a-z0-9]{16,32}$'),
  -- the address the ticket's mail goes to, and the inbound address it came in at
  player_address  text not null check (char_length(player_address) between 3 and 320),
  inbound_address text check (char_length(inbound_address) between 3 and 254),
  subject         text not null check (char_length(subject) between 1 and 998),
  created_at      timestamptz not null default now(),
  primary key (org_id, ticket_id),
  unique (org_id, token),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete cascade
);

-- Every mail in or out. `status` says what became of it; nothing is ever dropped, so a mail
-- that made no ticket (an auto-reply, a bounce, one that could not be parsed) is still here
-- with its raw copy and its reason.
create table email_messages (
  id              uuid primary key default gen_random_uuid(),
  org_id          uuid not null references organizations (id) on delete cascade,
  direction       text not null check (direction in ('in', 'out')),
  -- RFC 5322 Message-ID without angle brackets (a received mail without one gets a digest of its bytes)
  message_id      text not null check (char_length(message_id) between 1 and 998),
  ticket_id       uuid,
  -- the conversation message it became (in) or was made from (out)
  chat_message_id uuid,
  status          text not null check (status in ('new_ticket', 'reply', 'auto_reply', 'bounce', 'unparseable',
                    'ignored', 'queued', 'sent', 'failed', 'suppressed')),
  -- how it was matched to its ticket (plus_token, in_reply_to, subject_tag, ref_marker) or why not
  reason          text check (char_length(reason) between 1 and 200),
  in_reply_to     text check (char_length(in_reply_to) between 1 and 998),
  refs            text[] not null default '{}',
  from_address    text check (char_length(from_address) between 1 and 320),
  to_addresses    text[] not null default '{}',
  subject         text check (char_length(subject) <= 998),
  -- SMTP envelope (MAIL FROM, RCPT TO, client address) and the header lines, as received
  envelope        jsonb not null default '{}' check (jsonb_typeof(envelope) = 'object'),
  headers         jsonb not null default '[]' check (jsonb_typeof(headers) = 'array'),
  raw_storage_key text check (char_length(raw_storage_key) between 1 and 1024),
  raw_size        integer check (raw_size >= 0),
  parse_error     text check (char_length(parse_error) between 1 and 2000),
  attempts        integer not null default 0,
  last_error      text check (char_length(last_error) between 1 and 2000),
  sent_at         timestamptz,
  created_at      timestamptz not null default now(),
  unique (org_id, id),
  -- a redelivered mail, or a retried send, finds its row instead of making another
  unique (org_id, direction, message_id),
  foreign key (org_id, ticket_id) references tickets (org_id, id) on delete set null (ticket_id),
  foreign key (org_id, chat_message_id) references messages (org_id, id) on delete set null (chat_message_id)
);
create index email_messages_org_id_message_id_idx on email_messages (org_id, message_id);
create index email_messages_org_id_ticket_id_idx on email_messages (org_id, ticket_id) where ticket_id is not null;
create index email_messages_org_id_status_created_at_idx on email_messages (org_id, status, created_at desc);
create unique index email_messages_out_chat_message_key on email_messages (org_id, chat_message_id)
  where direction = 'out' and chat_message_id is not null;

-- ---------------------------------------------------------------------------
-- row-level security and grants
-- ---------------------------------------------------------------------------
alter table email_inbound_addresses enable row level security;
alter table email_inbound_addresses force row level security;
create policy tenant_isolation on email_inbound_addresses for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
-- gm_org_for_email_address reads it before any tenant is known
create policy definer_read on email_inbound_addresses for select to current_user using (true);

alter table email_intake_secrets enable row level security;
alter table email_intake_secrets force row level security;
create policy tenant_isolation on email_intake_secrets for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));
create policy definer_read on email_intake_secrets for select to current_user using (true);

alter table player_email_addresses enable row level security;
alter table player_email_addresses force row level security;
create policy tenant_isolation on player_email_addresses for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table email_threads enable row level security;
alter table email_threads force row level security;
create policy tenant_isolation on email_threads for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

alter table email_messages enable row level security;
alter table email_messages force row level security;
create policy tenant_isolation on email_messages for all to gamemod_app
  using (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid))
  with check (org_id = (select nullif(current_setting('app.org_id', true), '')::uuid));

grant select, insert, update, delete on email_inbound_addresses, email_intake_secrets, player_email_addresses,
  email_threads, email_messages to gamemod_app;

-- Mail arrives addressed to support@studio.example with no tenant: the organization that
-- owns the address (plus part already removed by the caller), or null.
create function gm_org_for_email_address(address text)
returns uuid
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select a.org_id from public.email_inbound_addresses a where a.address = lower(gm_org_for_email_address.address)
$$;
revoke execute on function gm_org_for_email_address(text) from public;
grant execute on function gm_org_for_email_address(text) to gamemod_app;

-- POST /v1/inbound/email/{orgSlug} carries the slug and the secret: the organization when the
-- secret is that organization's, else null (an unknown slug and a wrong secret look the same).
create function gm_resolve_email_intake(org_slug text, secret_hash bytea)
returns uuid
language sql stable security definer
set search_path = pg_catalog, public
as $$
  select o.id from public.organizations o
    join public.email_intake_secrets s on s.org_id = o.id
   where o.slug = gm_resolve_email_intake.org_slug and s.secret_hash = gm_resolve_email_intake.secret_hash
$$;
revoke execute on function gm_resolve_email_intake(text, bytea) from public;
grant execute on function gm_resolve_email_intake(text, bytea) to gamemod_app;

-- Down Migration

drop function gm_resolve_email_intake(text, bytea);
drop function gm_org_for_email_address(text);
drop table email_messages;
drop table email_threads;
drop table player_email_addresses;
drop table email_intake_secrets;
drop table email_inbound_addresses;
