-- Up Migration

-- The Discord OAuth tokens of a linked account, kept so the API can read the person's roles in
-- the org's servers after sign-in (role sync). Global like discord_accounts: one Discord
-- authorization per person, whatever their orgs. Both tokens are sealed with SECRET_KEY
-- (lib/secret-box.ts, AES-256-GCM); Discord rotates the refresh token on every use, and a
-- refused one is deleted.

create table discord_oauth_tokens (
  user_id          uuid primary key references discord_accounts (user_id) on delete cascade,
  access_sealed    text not null check (char_length(access_sealed) between 1 and 2000),
  refresh_sealed   text not null check (char_length(refresh_sealed) between 1 and 2000),
  scopes           text[] not null check (cardinality(scopes) between 1 and 20),
  expires_at       timestamptz not null,
  refreshed_at     timestamptz,
  created_at       timestamptz not null default now()
);

grant select, insert, update, delete on discord_oauth_tokens to gamemod_app;

-- Down Migration

drop table discord_oauth_tokens;
