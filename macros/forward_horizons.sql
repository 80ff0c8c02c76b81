{% macro forward_horizons() %}
    {#- The forward horizons in minutes (vars.backtest_horizons): return_<N>m is the move to the
        close of offset N - 1. -#}
    {{ return(var('backtest_horizons')) }}
{% endmacro %}
