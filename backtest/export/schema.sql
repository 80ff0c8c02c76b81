-- Postgres (Supabase) tables that receive the warehouse's core bt_* marts.
-- `backtest export --init-schema` runs this file (and every plugins/*/schema.sql): it only
-- creates what is missing and never drops or alters data. Types match the DuckDB marts
-- (models/marts/_marts.yml): varchar -> text, double -> double precision, json -> jsonb, and the
-- warehouse's naive UTC timestamps -> timestamptz (the export sends them explicitly as UTC).

create table if not exists bt_index (
    uid text primary key,
    symbol text,
    entry_time timestamptz,
    direction text,
    historical_lookback_hours double precision,
    forward_bars integer,
    data_source text,
    status text,
    created_at timestamptz,
    updated_at timestamptz,
    requested_at timestamptz
);

create index if not exists bt_index_symbol_entry_time on bt_index (symbol, entry_time);

create table if not exists bt_bars (
    uid text not null references bt_index (uid),
    bar_offset integer not null,
    bar_time timestamptz,
    open double precision,
    high double precision,
    low double precision,
    close double precision,
    volume double precision,
    is_filled boolean,
    primary key (uid, bar_offset)
);

create table if not exists bt_signals (
    uid text not null references bt_index (uid),
    calculation text not null,
    signal_time timestamptz,
    direction text,
    strength double precision,
    confidence double precision,
    points double precision,
    metadata jsonb,
    status text,
    error text,
    primary key (uid, calculation)
);

create table if not exists bt_aggregated (
    uid text primary key references bt_index (uid),
    consensus_direction text,
    agreement_score double precision,
    vote_breakdown jsonb,
    average_strength double precision,
    average_confidence double precision,
    participating_calculations integer,
    total_calculations integer,
    aligned_with_trade boolean,
    entry_price double precision,
    exit_price double precision,
    pnl double precision,
    pnl_pct double precision,
    max_favorable_excursion double precision,
    max_favorable_excursion_pct double precision,
    max_adverse_excursion double precision,
    max_adverse_excursion_pct double precision,
    bars_to_mfe integer,
    bars_to_mae integer,
    return_5m double precision,
    return_15m double precision,
    return_30m double precision,
    return_60m double precision
);
