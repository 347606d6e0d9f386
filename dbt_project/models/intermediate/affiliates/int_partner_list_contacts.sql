{#- One row per line of each partner's current list: the rows of the partner's latest partner-list drop
    (stg_files__partner_lists), latest by load time, then by file name. A partner's drop is their whole list as of
    that day, so a contact missing from it (withdrawn, or quarantined in it) is no longer theirs to use, even
    though an earlier file still names them. -#}
with

contacts as (
    select * from {{ ref('stg_files__partner_lists') }}
),

partner_files as (
    select
        partner_id,
        file_name,
        max(loaded_at) as loaded_at
    from contacts
    group by partner_id, file_name
),

ranked_files as (
    select
        partner_id,
        file_name,
        row_number() over (partition by partner_id order by loaded_at desc, file_name desc) as drop_order
    from partner_files
),

final as (
    select contacts.*
    from contacts
    inner join ranked_files
        on contacts.partner_id = ranked_files.partner_id
        and contacts.file_name = ranked_files.file_name
    where ranked_files.drop_order = 1
)

select * from final
