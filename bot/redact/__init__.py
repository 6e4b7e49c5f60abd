"""Credentials out of the diff before any model sees it: the scrubber (scrub) and the
patterns, key blocks, multi-line values, token shapes and screens it uses."""
