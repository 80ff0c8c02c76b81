-- Postgres (Supabase) table of the rsi_14 plugin's readings, one row per uid.
-- Mirrors the dbt model plugins/rsi_14/models/bt_rsi_14.sql column for column;
-- `backtest export --init-schema` creates it when missing and never drops data.

create table if not exists bt_rsi_14 (
    uid text primary key references bt_index (uid),
    signal_direction text,
    strength double precision,
    confidence double precision,
    rsi double precision,
    average_gain double precision,
    average_loss double precision,
    last_close double precision,
    bars_used integer,
    status text
);
