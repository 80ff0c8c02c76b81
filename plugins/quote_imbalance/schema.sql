-- Generated from the dbt contract in plugins/quote_imbalance/models/_quote_imbalance.yml
-- by `backtest plugins schema quote_imbalance`.
-- Do not edit: change the contract, then run the command again (a test compares the two).
-- `backtest export --init-schema` creates the table when missing and never drops data.

create table if not exists bt_quote_imbalance (
    uid text not null references bt_index (uid),
    signal_direction text,
    strength double precision,
    confidence double precision,
    size_imbalance double precision,
    mean_spread_bps double precision,
    quotes_used int,
    status text,
    primary key (uid)
);
