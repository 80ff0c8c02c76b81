{% macro plugin_signals(plugin, readings_model, metadata_columns) %}
    {#- The body of a plugin's public sig_<plugin>__signals model: the standard columns from a
        readings model that has uid, entry_time, signal_direction, strength, confidence,
        status and error, with the given columns as the JSON metadata. -#}
    {%- set metadata = {} -%}
    {%- for column in metadata_columns -%}{%- do metadata.update({column: column}) -%}{%- endfor %}
with

readings as (

    select * from {{ ref(readings_model) }}

),

signals as (

    select
        uid,
        '{{ plugin }}' as calculation,
        entry_time as signal_time,
        signal_direction as direction,
        cast(strength as double) as strength,
        cast(confidence as double) as confidence,
        cast({{ plugin_points(plugin) }} as double) as points,
        {{ json_object_of(metadata) }} as metadata,
        status,
        error

    from readings

)

select * from signals
{% endmacro %}
