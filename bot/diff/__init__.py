"""Stage 2, diff: unified diffs and GitHub patches -> FileDiff / Hunk / Line (parse, scan, header),
plus the text of hunks (hunk_text), languages and path names."""
