{% macro plugin_points(name) %}
    {{ return(backtest_plugins().get(name, {}).get('points', 1)) }}
{% endmacro %}
