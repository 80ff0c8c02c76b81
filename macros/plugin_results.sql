{% macro plugin_results(readings_model, columns) %}
    {#- The body of a plugin's bt_<plugin> mart: uid, the call, then the plugin's columns. -#}
with

readings as (

    select * from {{ ref(readings_model) }}

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

)

select * from final
{% endmacro %}
