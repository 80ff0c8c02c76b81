-- Rejected bars name the great-expectations expectation that failed.
alter table raw.bar_rejects add column if not exists expectation varchar;
