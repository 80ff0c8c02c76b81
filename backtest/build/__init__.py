"""Building results: ``dbt build`` run in-process on the warehouse, and the results read back."""
