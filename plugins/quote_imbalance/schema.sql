-- Postgres (Supabase) table of the quote_imbalance plugin's readings, one row per uid.
-- Mirrors plugins/quote_imbalance/models/bt_quote_imbalance.sql column for column.

create table if not exists bt_quote_imbalance (
    uid text primary key references bt_index (uid),
    signal_direction text,
    strength double precision,
    confidence double precision,
    size_imbalance double precision,
    mean_spread_bps double precision,
    quotes_used integer,
    status text
);
