-- Postgres (Supabase) table of the relative_volume plugin's readings, one row per uid.
-- Mirrors the dbt model plugins/relative_volume/models/bt_relative_volume.sql column for column;
-- `backtest export --init-schema` creates it when missing and never drops data.

create table if not exists bt_relative_volume (
    uid text primary key references bt_index (uid),
    signal_direction text,
    strength double precision,
    confidence double precision,
    volume_ratio double precision,
    recent_volume double precision,
    baseline_volume_5m double precision,
    recent_change_pct double precision,
    recent_bars integer,
    baseline_bars integer,
    bars_used integer,
    status text
);
