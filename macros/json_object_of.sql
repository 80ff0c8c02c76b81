{% macro json_object_of(pairs) %}
    {{ return(adapter.dispatch('json_object_of', 'backtest')(pairs)) }}
{% endmacro %}

{% macro default__json_object_of(pairs) %}
    json_build_object(
        {%- for key, expression in pairs.items() %}'{{ key }}', {{ expression }}{{ ", " if not loop.last }}{% endfor -%}
    )
{% endmacro %}

{% macro duckdb__json_object_of(pairs) %}
    json_object(
        {%- for key, expression in pairs.items() %}'{{ key }}', {{ expression }}{{ ", " if not loop.last }}{% endfor -%}
    )
{% endmacro %}
