{% macro plugin_results(plugin, readings_model, columns) %}
    {#- The whole of a plugin's bt_<plugin> mart: its configuration, then uid, the call and the
        plugin's columns for the pending requests that run the plugin. Rows of requests being
        rebuilt are removed first (stale_plugin_rows_removed), so the mart never holds a reading
        that bt_signals does not. -#}
    {{ config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='uid',
        on_schema_change='fail',
        enabled=plugin_enabled(plugin),
        tags=['full_scan'],
        pre_hook="{{ stale_plugin_rows_removed() }}",
    ) }}
-- depends_on: {{ ref('int_requests_pending') }}
with

readings as (

    select * from {{ ref(readings_model) }}

),

plugin_signals as (

    select uid from {{ ref('int_signals_unioned') }}
    where calculation = '{{ plugin }}'

),

final as (

    select
        uid,
        signal_direction,
        cast(strength as double) as strength,
        cast(confidence as double) as confidence,
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        status

    from readings
    where uid in (select uid from plugin_signals)

)

select * from final
{% endmacro %}
