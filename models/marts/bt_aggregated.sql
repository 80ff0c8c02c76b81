with

consensus as (

    select * from {{ ref('int_consensus_voted') }}

),

forward_moves as (

    select * from {{ ref('int_forward_moves_computed') }}

),

final as (

    select
        consensus.uid,
        consensus.consensus_direction,
        consensus.agreement_score,
        consensus.vote_breakdown,
        consensus.average_strength,
        consensus.average_confidence,
        consensus.participating_calculations,
        consensus.total_calculations,
        consensus.aligned_with_trade,
        forward_moves.entry_price,
        forward_moves.exit_price,
        forward_moves.pnl,
        forward_moves.pnl_pct,
        forward_moves.max_favorable_excursion,
        forward_moves.max_favorable_excursion_pct,
        forward_moves.max_adverse_excursion,
        forward_moves.max_adverse_excursion_pct,
        forward_moves.bars_to_mfe,
        forward_moves.bars_to_mae,
        forward_moves.bars_to_mfe = forward_moves.bars_to_mae as has_same_bar_extremes,
        {% for minutes in forward_horizons() %}
            forward_moves.return_{{ minutes }}m{% if not loop.last %},{% endif %}
        {% endfor %}

    from consensus
    inner join forward_moves on consensus.uid = forward_moves.uid

)

select * from final
