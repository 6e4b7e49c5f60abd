"""Stages 3 and 4, filter and plan: what to skip (filters), token counting (tokens), and
packing hunks into requests within the budget (packing)."""
