{% macro minute_offsets(first_offset, last_offset) %}
    {{ return(adapter.dispatch('minute_offsets', 'backtest')(first_offset, last_offset)) }}
{% endmacro %}

{% macro default__minute_offsets(first_offset, last_offset) %}
    select offsets as bar_offset from generate_series({{ first_offset }}, {{ last_offset }}) as offsets
{% endmacro %}

{% macro duckdb__minute_offsets(first_offset, last_offset) %}
    select cast(range as integer) as bar_offset from range({{ first_offset }}, {{ last_offset }} + 1)
{% endmacro %}
