"""The file inbox: orders exports, ERP stock, budget plan, marketplace listings, privacy requests."""
