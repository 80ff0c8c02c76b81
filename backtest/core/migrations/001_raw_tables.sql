-- The raw schema Python writes and dbt reads: requests, bars, rejects, ticks, cache bookkeeping.
create schema if not exists raw;
create table if not exists raw.requests (
    uid varchar primary key,
    symbol varchar not null,
    entry_time timestamp not null,
    direction varchar not null,
    historical_lookback_hours double not null,
    forward_bars integer not null,
    data_source varchar not null,
    created_at timestamp not null,
    requested_at timestamp not null
);
create table if not exists raw.bars_1m (
    symbol varchar not null,
    bar_time timestamp not null,
    open double not null,
    high double not null,
    low double not null,
    close double not null,
    volume double not null,
    data_source varchar not null,
    loaded_at timestamp not null
);
create table if not exists raw.bar_rejects (
    symbol varchar,
    bar_time timestamp,
    open double,
    high double,
    low double,
    close double,
    volume double,
    data_source varchar,
    origin varchar,
    reason varchar not null,
    rejected_at timestamp not null
);
create table if not exists raw.trades (
    symbol varchar not null,
    sip_time timestamp_ns not null,
    participant_time timestamp_ns,
    trf_time timestamp_ns,
    price double not null,
    size double not null,
    exchange integer,
    conditions integer[],
    correction integer,
    trade_id varchar,
    sequence_number bigint,
    tape integer,
    trf_id integer,
    data_source varchar not null,
    loaded_at timestamp not null
);
create table if not exists raw.quotes (
    symbol varchar not null,
    sip_time timestamp_ns not null,
    participant_time timestamp_ns,
    trf_time timestamp_ns,
    bid_price double,
    bid_size double,
    bid_exchange integer,
    ask_price double,
    ask_size double,
    ask_exchange integer,
    conditions integer[],
    indicators integer[],
    sequence_number bigint,
    tape integer,
    data_source varchar not null,
    loaded_at timestamp not null
);
create table if not exists raw.coverage (
    symbol varchar not null,
    data_source varchar not null,
    kind varchar not null,
    start_time timestamp not null,
    end_time timestamp not null,
    fetched_at timestamp not null
);
create table if not exists raw.api_calls (
    called_at timestamp not null,
    data_source varchar not null,
    kind varchar not null,
    endpoint varchar not null,
    symbol varchar not null,
    start_time timestamp,
    end_time timestamp,
    pages integer not null,
    row_count bigint not null,
    outcome varchar not null,
    detail varchar
);
create table if not exists raw.ingest_runs (
    run_at timestamp not null,
    data_source varchar not null,
    kinds varchar not null,
    requests bigint not null,
    ranges_needed bigint not null,
    chunks_without_cache bigint not null,
    chunks_fetched bigint not null,
    calls_made bigint not null,
    calls_saved bigint not null,
    outcome varchar not null
);
create table if not exists raw.validations (
    batch_id bigint primary key,
    validated_at timestamp not null,
    data_source varchar not null,
    origin varchar,
    symbols varchar[] not null,
    start_time timestamp,
    end_time timestamp,
    row_count bigint not null,
    rejected bigint not null,
    is_success boolean not null,
    result json not null
);
