{% macro plugin_enabled(name) %}
    {{ return(name in enabled_plugins()) }}
{% endmacro %}
