"""Stage 5, prompt: Jinja templates (templates), the views of hunks they render (views), and
rendering a batch into a Request (render)."""
