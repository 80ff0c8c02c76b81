-- Postgres (Supabase) table of the m1_ema plugin's readings, one row per uid.
-- Mirrors the dbt model plugins/m1_ema/models/bt_m1_ema.sql column for column;
-- `backtest export --init-schema` creates it when missing and never drops data.

create table if not exists bt_m1_ema (
    uid text primary key references bt_index (uid),
    signal_direction text,
    strength double precision,
    confidence double precision,
    ema_9 double precision,
    ema_21 double precision,
    ema_spread double precision,
    ema_spread_pct double precision,
    minutes_since_crossover integer,
    bars_used integer,
    status text
);
