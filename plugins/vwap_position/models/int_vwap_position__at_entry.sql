{{ config(materialized='table', enabled=plugin_enabled('vwap_position')) }}
{#-
    The vwap_position reading at each pending entry (rules in the plugin README). The session
    window runs from the anchor, the later of 09:30 America/New_York on the entry's New York
    date and the lookback start, to the entry; it holds real lookback bars only.
      vwap            sum(volume * typical) / sum(volume), typical = (high + low + close) / 3
      vwap_std        sqrt(sum(volume * (typical - vwap)^2) / sum(volume)), two passes (exact)
      distance_sigma  (last close - vwap) / vwap_std; null when vwap_std <= 1e-9 * vwap (flat)
      direction       BULLISH if distance_sigma > 1, BEARISH if < -1, else NEUTRAL;
                      NEUTRAL under 5 session bars (warm-up)
      strength        min(100, 100 * (|distance_sigma| - 1) / 2) for a call, 0 when NEUTRAL
      confidence      100 * min(1, session bars / session minutes) * min(1, session bars / 30)
      status          no_data (no vote) when the session window holds no traded volume
-#}
with

requests as (

    select * from {{ ref('int_requests_pending') }}

),

lookback_bars as (

    select * from {{ ref('int_lookback_bars_selected') }}

),

regular_opens as (

    select
        uid,
        entry_time,
        lookback_minutes,
        (
            cast(entry_time at time zone 'UTC' at time zone 'America/New_York' as date)
            + interval '9 hours 30 minutes'
        ) at time zone 'America/New_York' at time zone 'UTC' as regular_open_time

    from requests

),

session_anchors as (

    select
        uid,
        entry_time,
        greatest(regular_open_time, {{ add_minutes('entry_time', '-lookback_minutes') }})
            as session_anchor_time

    from regular_opens

),

session_bars as (

    select
        lookback_bars.uid,
        lookback_bars.bar_index,
        lookback_bars.bar_count,
        lookback_bars.close,
        lookback_bars.volume,
        (lookback_bars.high + lookback_bars.low + lookback_bars.close) / 3 as typical_price

    from lookback_bars
    inner join session_anchors on lookback_bars.uid = session_anchors.uid
    where lookback_bars.bar_time >= session_anchors.session_anchor_time

),

session_totals as (

    select
        uid,
        count(*) as session_bars,
        sum(volume) as session_volume,
        sum(volume * typical_price) / nullif(sum(volume), 0) as vwap,
        max(case when bar_index = bar_count - 1 then close end) as last_close

    from session_bars
    group by uid

),

session_deviations as (

    select
        session_bars.uid,
        sum(session_bars.volume * power(session_bars.typical_price - session_totals.vwap, 2))
            as weighted_squared_deviation

    from session_bars
    inner join session_totals on session_bars.uid = session_totals.uid
    where session_totals.session_volume > 0
    group by session_bars.uid

),

measured as (

    select
        session_anchors.uid,
        session_anchors.entry_time,
        session_anchors.session_anchor_time,
        greatest(
            0,
            extract(epoch from (session_anchors.entry_time - session_anchors.session_anchor_time))
            / 60
        ) as session_minutes,
        cast(coalesce(session_totals.session_bars, 0) as integer) as session_bars,
        coalesce(session_totals.session_volume, 0) as session_volume,
        session_totals.vwap,
        sqrt(session_deviations.weighted_squared_deviation / session_totals.session_volume)
            as vwap_std,
        session_totals.last_close

    from session_anchors
    left join session_totals on session_anchors.uid = session_totals.uid
    left join session_deviations on session_anchors.uid = session_deviations.uid

),

{# A deviation within 1e-9 of VWAP is zero: float noise must not make a band. #}
distances as (

    select
        *,
        100 * (last_close - vwap) / vwap as distance_pct,
        case
            when vwap_std > 1e-9 * abs(vwap) then (last_close - vwap) / vwap_std
        end as distance_sigma

    from measured

),

called as (

    select
        *,
        case
            when session_volume <= 0 then null
            when session_bars < 5 then 'NEUTRAL'
            when distance_sigma > 1 then 'BULLISH'
            when distance_sigma < -1 then 'BEARISH'
            else 'NEUTRAL'
        end as signal_direction,
        case
            when session_volume <= 0 then null
            when session_bars < 5 or distance_sigma is null or abs(distance_sigma) <= 1 then 0
            else round(least(100, 100 * (abs(distance_sigma) - 1) / 2), 2)
        end as strength,
        case
            when session_volume <= 0 then null
            when session_bars < 5 then 0
            else round(
                100 * least(1, session_bars / session_minutes) * least(1, session_bars / 30.0),
                2
            )
        end as confidence,
        case when session_volume <= 0 then 'no_data' else 'ok' end as status,
        case
            when session_volume <= 0
                then
                    'no traded volume since the session anchor'
                    || ' (09:30 New York or the lookback start)'
        end as error

    from distances

)

select * from called
