{% test minute_aligned(model, column_name) %}

select {{ column_name }}
from {{ model }}
where {{ column_name }} <> date_trunc('minute', {{ column_name }})

{% endtest %}
