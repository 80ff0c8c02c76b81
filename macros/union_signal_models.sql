{% macro union_signal_models() %}
    {#- Every enabled set-based plugin's public sig_<name>__signals model, plus the generic
        wrapper's rows for runs = "adapter" plugins, with identical column types. -#}
    {%- for name in set_based_plugins() %}
    select uid, calculation, signal_time, direction, strength, confidence, points, metadata, status, error
    from {{ ref('sig_' ~ name ~ '__signals') }}
    union all
    {%- endfor %}
    select
        cast(uid as varchar) as uid,
        cast(calculation as varchar) as calculation,
        cast(signal_time as timestamp) as signal_time,
        cast(direction as varchar) as direction,
        cast(strength as double) as strength,
        cast(confidence as double) as confidence,
        cast(points as double) as points,
        cast(metadata as json) as metadata,
        cast(status as varchar) as status,
        cast(error as varchar) as error
    from {{ ref('int_adapter_signals_computed') }}
{% endmacro %}
