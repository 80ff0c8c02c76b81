-- Generated from the dbt contract in plugins/rsi_14/models/_rsi_14.yml
-- by `backtest plugins schema rsi_14`.
-- Do not edit: change the contract, then run the command again (a test compares the two).
-- `backtest export --init-schema` creates the table when missing and never drops data.

create table if not exists bt_rsi_14 (
    uid text not null references bt_index (uid),
    signal_direction text,
    strength double precision,
    confidence double precision,
    rsi double precision,
    average_gain double precision,
    average_loss double precision,
    last_close double precision,
    bars_used int,
    status text,
    primary key (uid)
);
