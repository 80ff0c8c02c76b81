{#- Built last: a request is marked built (requested_at copied) only when every other mart,
    the plugins' bt_<plugin> tables included, has been rebuilt for it. -#}
-- depends_on: {{ ref('bt_bars') }}
-- depends_on: {{ ref('bt_signals') }}
-- depends_on: {{ ref('bt_aggregated') }}
{% for name in set_based_plugins() -%}
-- depends_on: {{ ref('bt_' ~ name) }}
{% endfor %}
with

requests as (

    select * from {{ ref('int_requests_pending') }}

),

forward_moves as (

    select * from {{ ref('int_forward_moves_computed') }}

),

final as (

    select
        requests.uid,
        requests.symbol,
        requests.entry_time,
        requests.direction,
        requests.historical_lookback_hours,
        requests.forward_bars,
        requests.data_source,
        forward_moves.status,
        requests.created_at,
        {{ build_time() }} as updated_at,
        requests.requested_at

    from requests
    inner join forward_moves on requests.uid = forward_moves.uid

)

select * from final
