{#- Every enabled plugin's public signal model (vars.backtest_plugins), one row per uid and
    calculation. Adding a plugin adds a branch here without editing this file. -#}
with

signals as (

    {{ union_signal_models() }}

)

select * from signals
