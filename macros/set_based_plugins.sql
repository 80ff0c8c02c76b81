{% macro set_based_plugins() %}
    {#- Enabled plugins whose dbt models compute their signals (runs = sql, the default). -#}
    {%- set names = [] -%}
    {%- for name in enabled_plugins() -%}
        {%- if backtest_plugins()[name].get('runs', 'sql') == 'sql' -%}
            {%- do names.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}
