{#- The signals of each pending request's own calculations, one row per uid and calculation:
    the set-based plugins' public models and the generic adapter wrapper's rows
    (vars.backtest_plugins), kept where the request runs that calculation (its --calculation
    selection, or every enabled plugin). Adding a plugin adds a branch here without editing this
    file. A signal that claims ok but breaks the standard (direction, strength or confidence) is
    failed for that entry only. -#}
with

requests as (

    select * from {{ ref('int_requests_pending') }}

),

computed as (

    {{ union_signal_models() }}

),

signals as (

    select computed.*
    from computed
    inner join requests on computed.uid = requests.uid
    where {{ request_runs_calculation('requests.calculations', 'computed.calculation') }}

),

checked as (

    select
        *,
        case
            when status <> 'ok' then null
            when direction is null or direction not in ('BULLISH', 'BEARISH', 'NEUTRAL')
                then
                    'direction ' || coalesce(direction, 'null')
                    || ' is not BULLISH, BEARISH or NEUTRAL'
            when strength is null or strength < 0 or strength > 100
                then
                    'strength ' || coalesce(cast(strength as varchar), 'null')
                    || ' is outside 0-100'
            when confidence is null or confidence < 0 or confidence > 100
                then
                    'confidence ' || coalesce(cast(confidence as varchar), 'null')
                    || ' is outside 0-100'
        end as problem

    from signals

),

standardised as (

    select
        uid,
        calculation,
        signal_time,
        case when problem is null then direction end as direction,
        case when problem is null then strength end as strength,
        case when problem is null then confidence end as confidence,
        points,
        metadata,
        case when problem is null then status else 'failed' end as status,
        case when problem is null then error else 'invalid signal: ' || problem end as error

    from checked

)

select * from standardised
