{% macro wilder_average(value, position, last_position, period) %}
    {#- Wilder's smoothing of `value`, evaluated at `last_position`, as an aggregate over a group.
        Values sit at positions 1, 2, ... (position 0 is ignored). The average is seeded with the
        simple mean of positions 1..period and then follows avg_k = avg_{k-1} + (x_k - avg_{k-1}) / period,
        which in closed form is, with a = 1 / period and n = last_position >= period:
            avg_n = (1-a)^(n-period) * mean(x_1..x_period) + a * sum_{k=period+1..n} x_k * (1-a)^(n-k)
        Every exponent is >= 0, so the sum is exact and stable for any length. -#}
    (
        power(1 - 1.0 / {{ period }}, {{ last_position }} - {{ period }})
            * avg(case when {{ position }} between 1 and {{ period }} then {{ value }} end)
        + coalesce(sum(
            case
                when {{ position }} > {{ period }}
                    then {{ value }} * power(1 - 1.0 / {{ period }}, {{ last_position }} - {{ position }})
            end
        ), 0) / {{ period }}
    )
{% endmacro %}
