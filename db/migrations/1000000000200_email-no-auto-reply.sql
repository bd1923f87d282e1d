-- Up Migration

-- Why the mail that opened the thread asked for no automatic reply (List-Id, Precedence: list,
-- X-Auto-Response-Suppress, X-Loop), or null. RFC 3834: such a sender gets answers from people,
-- never an automatic mail (a rule's canned reply), which would reach a whole list or start a loop.
alter table email_threads add column no_auto_reply text check (char_length(no_auto_reply) <= 200);

-- Down Migration

alter table email_threads drop column no_auto_reply;
