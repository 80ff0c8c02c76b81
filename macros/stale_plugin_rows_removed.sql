{% macro stale_plugin_rows_removed() %}
    {#- Pre-hook of every bt_<plugin> mart: forget the rows of every request being rebuilt, so a
        request that no longer runs the plugin (a narrower --calculation) keeps no stale row. -#}
    {%- if is_incremental() -%}
    delete from {{ this }} where uid in (select uid from {{ ref('int_requests_pending') }})
    {%- endif -%}
{% endmacro %}
