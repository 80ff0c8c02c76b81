{#-
    The requests this build must (re)compute: every request on a full refresh or a first build,
    otherwise those whose (uid, requested_at) is not yet in bt_index. bt_index is built after
    every other mart, so a failed build leaves its requests pending for the next one. With var
    backtest_chunk_size, at most that many, the first by uid: the engine runs builds until
    nothing is pending, so the memory of one build is bounded whatever the batch.
-#}
{%- set chunk_size = var('backtest_chunk_size', none) -%}
{%- set built_index = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='bt_index') -%}

with

requests as (

    select * from {{ ref('stg_raw__requests') }}

),

pending as (

    select requests.*
    from requests
    {%- if built_index is not none and not flags.FULL_REFRESH %}
    where not exists (
        select 1
        from {{ built_index }} as built
        where built.uid = requests.uid
          and built.requested_at = requests.requested_at
    )
    {%- endif %}
    {%- if chunk_size %}
    order by requests.uid
    limit {{ chunk_size }}
    {%- endif %}

)

select * from pending
