{% macro window_offsets() %}
    {#- The stored window around each entry: {first_offset, last_offset, bars} from
        vars.backtest_window (the one definition Python reads too). -#}
    {%- set window = var('backtest_window') -%}
    {{ return({
        'first_offset': window['first_offset'],
        'last_offset': window['last_offset'],
        'bars': window['last_offset'] - window['first_offset'] + 1,
    }) }}
{% endmacro %}
