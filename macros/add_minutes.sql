{% macro add_minutes(timestamp_expression, minutes_expression) %}
    {{ return(adapter.dispatch('add_minutes', 'backtest')(timestamp_expression, minutes_expression)) }}
{% endmacro %}

{% macro default__add_minutes(timestamp_expression, minutes_expression) %}
    ({{ timestamp_expression }} + make_interval(mins => {{ minutes_expression }}))
{% endmacro %}

{% macro duckdb__add_minutes(timestamp_expression, minutes_expression) %}
    ({{ timestamp_expression }} + to_minutes(cast({{ minutes_expression }} as bigint)))
{% endmacro %}
