{% macro union_signal_models() %}
    {%- set names = enabled_plugins() -%}
    {%- if names | length == 0 -%}
        {{ exceptions.raise_compiler_error("No calculation plugin is enabled: enable one under vars.backtest_plugins in dbt_project.yml.") }}
    {%- endif -%}
    {%- for name in names %}
    select uid, calculation, signal_time, direction, strength, confidence, points, metadata, status, error
    from {{ ref('sig_' ~ name ~ '__signals') }}
    {%- if not loop.last %}
    union all
    {%- endif -%}
    {% endfor %}
{% endmacro %}
