-- Up Migration
-- The app role checks at startup and in /ready that every migration has run; it may read the
-- migrations table (names and times only) and nothing more.
grant select on pgmigrations to gamemod_app;

-- Down Migration
revoke select on pgmigrations from gamemod_app;
