{% macro enabled_plugins() %}
    {%- set names = [] -%}
    {%- for name, settings in backtest_plugins().items() | sort -%}
        {%- if settings.get('enabled', true) -%}{%- do names.append(name) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}
