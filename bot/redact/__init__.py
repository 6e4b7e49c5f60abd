"""Credentials out of the diff before any model sees it: the scrubber (scrub), one line or path
(line), and the patterns, key blocks, multi-line and split values, token shapes and screens it
uses. Every pattern runs in linear time on any input (docs/redaction.md)."""
