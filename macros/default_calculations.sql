{% macro default_calculations() %}
    {#- The plugins a request without a selection of its own runs: the enabled ones, less any the
        build marks `in_all: false` (plugins computed only because some stored request named
        them with --calculation). -#}
    {%- set names = [] -%}
    {%- for name in enabled_plugins() -%}
        {%- if backtest_plugins()[name].get('in_all', true) -%}{%- do names.append(name) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}
