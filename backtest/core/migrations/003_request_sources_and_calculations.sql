-- Each request names the source of its trades and quotes, and the calculations its run chose
-- (null: every enabled plugin).
alter table raw.requests add column if not exists tick_data_source varchar;
alter table raw.requests add column if not exists calculations varchar;
