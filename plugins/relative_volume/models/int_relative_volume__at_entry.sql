{{ config(materialized='table', enabled=plugin_enabled('relative_volume')) }}
{#-
    The relative_volume reading at each pending entry (rules in the plugin README). The lookback
    is split into the recent window, the 5 minutes entry - 5 <= bar_time < entry, and the
    baseline, the lookback minutes before it. A minute without a bar traded nothing (volume 0).
      recent_volume       volume of the recent window
      baseline_volume_5m  mean 5-minute volume of the baseline: 5 * its volume / (lookback - 5)
      volume_ratio        recent_volume / baseline_volume_5m (null without baseline volume)
      recent_change_pct   100 * (last close - open of the first recent bar) / that open
      direction           with volume_ratio >= 2 (a surge): BULLISH if recent_change_pct > 0,
                          BEARISH if < 0; otherwise NEUTRAL; NEUTRAL under 30 baseline bars
      strength            min(100, 100 * ln(volume_ratio) / ln(4)) for a call, 0 when NEUTRAL
      confidence          100 * min(1, baseline bars / (lookback - 5)) * recent bars / 5
      status              no_data when the lookback holds no traded volume
-#}
with

requests as (

    select * from {{ ref('int_requests_pending') }}

),

lookback_bars as (

    select * from {{ ref('int_lookback_bars_selected') }}

),

split_bars as (

    select
        uid,
        bar_index,
        bar_count,
        open,
        close,
        volume,
        bar_time >= {{ add_minutes('entry_time', -5) }} as is_recent

    from lookback_bars

),

volume_totals as (

    select
        uid,
        count(*) as bars_used,
        count(*) filter (where is_recent) as recent_bars,
        count(*) filter (where not is_recent) as baseline_bars,
        sum(volume) as lookback_volume,
        sum(volume) filter (where is_recent) as recent_volume,
        sum(volume) filter (where not is_recent) as baseline_volume,
        min(bar_index) filter (where is_recent) as first_recent_index,
        max(case when bar_index = bar_count - 1 then close end) as last_close

    from split_bars
    group by uid

),

recent_opens as (

    select
        split_bars.uid,
        split_bars.open as recent_open

    from split_bars
    inner join volume_totals
        on split_bars.uid = volume_totals.uid
        and split_bars.bar_index = volume_totals.first_recent_index
    where split_bars.is_recent

),

measured as (

    select
        requests.uid,
        requests.entry_time,
        requests.lookback_minutes,
        cast(coalesce(volume_totals.bars_used, 0) as integer) as bars_used,
        cast(coalesce(volume_totals.recent_bars, 0) as integer) as recent_bars,
        cast(coalesce(volume_totals.baseline_bars, 0) as integer) as baseline_bars,
        coalesce(volume_totals.lookback_volume, 0) as lookback_volume,
        coalesce(volume_totals.recent_volume, 0) as recent_volume,
        5 * coalesce(volume_totals.baseline_volume, 0) / (requests.lookback_minutes - 5)
            as baseline_volume_5m,
        recent_opens.recent_open,
        volume_totals.last_close

    from requests
    left join volume_totals on requests.uid = volume_totals.uid
    left join recent_opens on requests.uid = recent_opens.uid

),

ratios as (

    select
        *,
        case
            when baseline_volume_5m > 0 then recent_volume / baseline_volume_5m
        end as volume_ratio,
        100 * (last_close - recent_open) / recent_open as recent_change_pct

    from measured

),

called as (

    select
        *,
        case
            when lookback_volume <= 0 then null
            when baseline_bars < 30 then 'NEUTRAL'
            when volume_ratio >= 2 and recent_change_pct > 0 then 'BULLISH'
            when volume_ratio >= 2 and recent_change_pct < 0 then 'BEARISH'
            else 'NEUTRAL'
        end as signal_direction,
        case
            when lookback_volume <= 0 then null
            when baseline_bars < 30 then 0
            when volume_ratio >= 2 and recent_change_pct <> 0
                then round(least(100, 100 * ln(volume_ratio) / ln(4)), 2)
            else 0
        end as strength,
        case
            when lookback_volume <= 0 then null
            when baseline_bars < 30 then 0
            else round(
                100 * least(1, cast(baseline_bars as double) / (lookback_minutes - 5))
                * recent_bars / 5,
                2
            )
        end as confidence,
        case when lookback_volume <= 0 then 'no_data' else 'ok' end as status,
        case
            when bars_used = 0 then 'no bars in the lookback window'
            when lookback_volume <= 0 then 'no traded volume in the lookback window'
        end as error

    from ratios

)

select * from called
