{#- Fails on any partner-list contact whose hashed e-mail reaches ad audiences (partner_audience_members.email_sha256)
    while a row of theirs in the partner's list has a basis other than consent or does not list ads in
    allowed_uses; or whose plain e-mail is there while a row has the contract basis. The rows are the partner's
    current list (int_partner_list_contacts), the one the mart may use. -#}
with

members as (
    select * from {{ ref('partner_audience_members') }}
),

contacts as (
    select * from {{ ref('int_partner_list_contacts') }}
)

select
    members.audience_id,
    members.contact_key,
    contacts.consent_basis,
    contacts.allowed_uses
from members
inner join contacts
    on members.partner_id = contacts.partner_id
    and members.contact_key = {{ sha256_hex('contacts.email_normalized') }}
where (
    members.email_sha256 is not null
    and (contacts.consent_basis <> 'consent' or '|' || contacts.allowed_uses || '|' not like '%|ads|%')
)
or (members.email is not null and contacts.consent_basis = 'contract')
