-- The present a live request was built at: bars stamped at or after it did not exist yet, so
-- its window does not use them (null: a backtest of history, every bar).
alter table raw.requests add column if not exists known_until timestamp;
