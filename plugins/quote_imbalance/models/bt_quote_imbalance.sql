{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='uid',
    on_schema_change='fail',
    enabled=plugin_enabled('quote_imbalance'),
    tags=['full_scan'],
) }}
{{ plugin_results('int_quote_imbalance__at_entry', [
    'size_imbalance', 'mean_spread_bps', 'quotes_used',
]) }}
