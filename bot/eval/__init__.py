"""`review-bot eval`: labelled cases and scoring (cases), the model run (run), haystacks
of unrelated hunks (haystack) and the markdown report (report)."""
