-- Generated from the dbt contract in plugins/vwap_position/models/_vwap_position.yml
-- by `backtest plugins schema vwap_position`.
-- Do not edit: change the contract, then run the command again (a test compares the two).
-- `backtest export --init-schema` creates the table when missing and never drops data.

create table if not exists bt_vwap_position (
    uid text not null references bt_index (uid),
    signal_direction text,
    strength double precision,
    confidence double precision,
    vwap double precision,
    vwap_std double precision,
    last_close double precision,
    distance_pct double precision,
    distance_sigma double precision,
    session_anchor_time timestamptz,
    session_bars int,
    session_volume double precision,
    status text,
    primary key (uid)
);
