{#- One row per (audience, contact) of the partners' current lists (int_partner_list_contacts: each partner's
    latest drop, so a contact gone from it leaves the audience): audience_id
    'partner_' || partner_id, contact_key = SHA-256 of the normalised e-mail (the raw address is never a key).
    A contact is used only as its lawful basis and its partner allow, both at once:
    - e-mail (column email, the normalised address): the basis allows email_marketing in seed partner_consent_uses
      and the row's allowed_uses lists its token (email);
    - ad audiences (column email_sha256): the basis allows ad_audiences (only 'consent' does) and allowed_uses lists
      its token (ads).
    A contact listed on several rows of one partner is used only as every one of those rows allows. A contact with
    an opt_out/delete privacy request naming their e-mail, or allowed no use at all, never appears.
    is_holdout: the deterministic var holdout_share sample of audience_members, keyed on the contact_key. -#}
with

contacts as (
    select * from {{ ref('int_partner_list_contacts') }}
    where email_normalized is not null
),

consent_uses as (
    select * from {{ ref('partner_consent_uses') }}
),

privacy_requests as (
    select * from {{ ref('stg_files__privacy_requests') }}
),

blocked_emails as (
    select distinct {{ normalize_email('email') }} as email_normalized
    from privacy_requests
    where request_type in ('opt_out', 'delete')
        and email is not null
),

-- A row allows a use when its basis does (seed partner_consent_uses) and its allowed_uses lists the use's token.
row_uses as (
    select
        contacts.partner_id,
        contacts.email_normalized,
        email_use.consent_basis is not null as may_email,
        ad_use.consent_basis is not null as may_advertise
    from contacts
    left join consent_uses as email_use
        on contacts.consent_basis = email_use.consent_basis
        and email_use.data_use = 'email_marketing'
        and email_use.is_allowed
        and '|' || contacts.allowed_uses || '|' like '%|' || email_use.file_token || '|%'
    left join consent_uses as ad_use
        on contacts.consent_basis = ad_use.consent_basis
        and ad_use.data_use = 'ad_audiences'
        and ad_use.is_allowed
        and '|' || contacts.allowed_uses || '|' like '%|' || ad_use.file_token || '|%'
),

contact_uses as (
    select
        row_uses.partner_id,
        row_uses.email_normalized,
        bool_and(row_uses.may_email) as may_email,
        bool_and(row_uses.may_advertise) as may_advertise
    from row_uses
    left join blocked_emails on row_uses.email_normalized = blocked_emails.email_normalized
    where blocked_emails.email_normalized is null
    group by row_uses.partner_id, row_uses.email_normalized
),

final as (
    select
        cast('partner_' || partner_id as text) as audience_id,
        cast({{ sha256_hex('email_normalized') }} as text) as contact_key,
        cast(partner_id as text) as partner_id,
        cast(case when may_email then email_normalized end as text) as email,
        cast(case when may_advertise then {{ sha256_hex('email_normalized') }} end as text) as email_sha256,
        may_email,
        may_advertise,
        {{ hash_bucket(
            sha256_hex('email_normalized') ~ " || '" ~ var('holdout_salt') ~ "'", 10000
        ) }} < {{ (var('holdout_share') | float * 10000) | int }} as is_holdout
    from contact_uses
    where may_email or may_advertise
)

select * from final
