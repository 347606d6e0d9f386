"""Synthetic online shop: a seeded, deterministic world of customers, orders, web visits, ad costs, marketplace
orders and file drops, written where the sandbox APIs and the file loaders read them."""

from narrowcast.datagen.generator import generate
from narrowcast.datagen.report import GenerationError, GenerationReport

__all__ = ["GenerationError", "GenerationReport", "generate"]
