{% macro backtest_plugins() %}
    {{ return(var('backtest_plugins', {})) }}
{% endmacro %}
