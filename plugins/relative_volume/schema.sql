-- Generated from the dbt contract in plugins/relative_volume/models/_relative_volume.yml
-- by `backtest plugins schema relative_volume`.
-- Do not edit: change the contract, then run the command again (a test compares the two).
-- `backtest export --init-schema` creates the table when missing and never drops data.

create table if not exists bt_relative_volume (
    uid text not null references bt_index (uid),
    signal_direction text,
    strength double precision,
    confidence double precision,
    volume_ratio double precision,
    recent_volume double precision,
    baseline_volume_5m double precision,
    recent_change_pct double precision,
    recent_bars int,
    baseline_bars int,
    bars_used int,
    status text,
    primary key (uid)
);
