{% macro request_runs_calculation(calculations, calculation) %}
    {#- True when a request whose selection is `calculations` (comma-separated names, or null for
        the default set) runs `calculation`. -#}
    {%- set defaults = default_calculations() -%}
    case
        when {{ calculations }} is null then
        {%- if defaults %}
            {{ calculation }} in ('{{ defaults | join("', '") }}')
        {%- else %}
            false
        {%- endif %}
        else position(',' || {{ calculation }} || ',' in ',' || {{ calculations }} || ',') > 0
    end
{% endmacro %}
