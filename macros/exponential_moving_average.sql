{% macro exponential_moving_average(value, position, alpha, partition_by) %}
    {#- ewm(adjust=False) seeded with the first value, in closed form:
        ema_k = (1-a)^k * (x_0 + a * sum_{j=1..k} x_j * (1-a)^-j)  -#}
    (
        power(1 - {{ alpha }}, {{ position }}) * (
            first_value({{ value }}) over (partition by {{ partition_by }} order by {{ position }})
            + {{ alpha }} * coalesce(sum(
                case when {{ position }} > 0 then {{ value }} * power(1 - {{ alpha }}, -{{ position }}) end
            ) over (
                partition by {{ partition_by }} order by {{ position }}
                rows between unbounded preceding and current row
            ), 0)
        )
    )
{% endmacro %}
