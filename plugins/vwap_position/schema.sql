-- Postgres (Supabase) table of the vwap_position plugin's readings, one row per uid.
-- Mirrors the dbt model plugins/vwap_position/models/bt_vwap_position.sql column for column;
-- `backtest export --init-schema` creates it when missing and never drops data.

create table if not exists bt_vwap_position (
    uid text primary key references bt_index (uid),
    signal_direction text,
    strength double precision,
    confidence double precision,
    vwap double precision,
    vwap_std double precision,
    last_close double precision,
    distance_pct double precision,
    distance_sigma double precision,
    session_anchor_time timestamptz,
    session_bars integer,
    session_volume double precision,
    status text
);
