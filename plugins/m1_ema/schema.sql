-- Generated from the dbt contract in plugins/m1_ema/models/_m1_ema.yml
-- by `backtest plugins schema m1_ema`.
-- Do not edit: change the contract, then run the command again (a test compares the two).
-- `backtest export --init-schema` creates the table when missing and never drops data.

create table if not exists bt_m1_ema (
    uid text not null references bt_index (uid),
    signal_direction text,
    strength double precision,
    confidence double precision,
    ema_9 double precision,
    ema_21 double precision,
    ema_spread double precision,
    ema_spread_pct double precision,
    minutes_since_crossover int,
    bars_used int,
    status text,
    primary key (uid)
);
