-- Up Migration

-- Volume reads only n and merged of the per-dimension daily rows (db/analytics-read.ts,
-- countsOnly), over the range and every day before it for the backlog: about 1,800 rows an org
-- grouped by source, on as many heap pages as there are days and kinds (EXPLAIN on the
-- benchmark's data, bench/README.md run 5). With both counts in the index the read is an
-- index-only scan wherever vacuum has marked the pages all-visible, which is every day but the
-- few the fold is still changing.
create index analytics_daily_dim_counts_idx on analytics_daily_dim (org_id, kind, dim, bucket, value)
  include (n, merged);

-- Down Migration

drop index analytics_daily_dim_counts_idx;
