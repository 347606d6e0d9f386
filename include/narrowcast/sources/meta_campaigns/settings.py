"""Meta Marketing API constants of the campaign-metadata source.

Fields of the Campaign and Ad Set objects (developers.facebook.com/docs/marketing-api/reference/ad-campaign-group,
.../reference/ad-campaign): ``objective`` is the campaign's ODAX outcome (OUTCOME_AWARENESS, OUTCOME_ENGAGEMENT,
OUTCOME_LEADS, OUTCOME_SALES, OUTCOME_TRAFFIC, OUTCOME_APP_PROMOTION; older campaigns keep legacy values such as
CONVERSIONS or LINK_CLICKS); an ad set's ``targeting.custom_audiences`` / ``excluded_custom_audiences`` list the
custom (and lookalike) audiences it includes / excludes as ``{id, name}``.
"""

PAGE_LIMIT = 500
CAMPAIGN_FIELDS = ("id", "account_id", "name", "objective", "status", "effective_status", "buying_type",
                   "created_time", "updated_time")
AD_SET_FIELDS = ("id", "account_id", "campaign_id", "name", "status", "targeting", "updated_time")
# Every status, so a campaign paused or archived in the window is read too (the edges leave out DELETED and
# ARCHIVED objects unless effective_status names them).
ALL_STATUSES = ("ACTIVE", "PAUSED", "DELETED", "PENDING_REVIEW", "DISAPPROVED", "PREAPPROVED",
                "PENDING_BILLING_INFO", "CAMPAIGN_PAUSED", "ARCHIVED", "ADSET_PAUSED", "IN_PROCESS", "WITH_ISSUES")
