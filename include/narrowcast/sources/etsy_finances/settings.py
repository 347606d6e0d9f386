"""Etsy payment account constants of the Etsy finances source."""

# getShopPaymentAccountLedgerEntries: limit 1..100 (default 25), offset >= 0, min_created and max_created
# required (unix seconds, at least 946684800) (Etsy Open API v3 reference, "Ledger Entry").
PAGE_LIMIT = 100
# getPaymentAccountLedgerEntryPayments takes ledger_entry_ids as a list; a page's worth per call keeps the URL short.
PAYMENT_LOOKUP_BATCH = 50

# The ledger entry's ledger_type names what the entry is for. Etsy's reference documents the field ("the original
# reference type for the ledger entry") without listing its values; these are the fees of Etsy's "Fees & Payments
# Policy" (transaction, payment processing, listing, shipping label, Offsite Ads, regulatory operating fees) as
# the ledger spells them. An entry of another type (a sale's payment, a refund, a disbursement) is not a fee.
FEE_LEDGER_TYPES = frozenset({
    "transaction", "transaction_quantity", "shipping_transaction",
    "payment_processing_fee", "PAYMENT_PROCESSING_FEE",
    "listing", "listing_private", "renew_sold", "renew_sold_auto", "renew_expired",
    "shipping_label", "shipping_labels",
    "offsite_ads_fee",
    "regulatory_operating_fee",
})

# The ledger writes amounts as integers in the currency's smallest unit without a divisor (Etsy reference:
# PaymentAccountLedgerEntry.amount "integer"); ISO 4217 currencies without minor units are taken as they are.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "PYG", "UGX"})
