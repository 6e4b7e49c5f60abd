"""Stage 7, findings: parse model answers (answers), ground them on diff lines and dedupe
(grounding), and make their text safe to post (sanitize)."""
