{% test rows_per_key(model, column_name, expected) %}

select {{ column_name }}, count(*) as row_count
from {{ model }}
group by {{ column_name }}
having count(*) <> {{ expected }}

{% endtest %}
