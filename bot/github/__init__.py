"""GitHub: the REST client (api, retry), hidden markers, the reviewed-head baseline, and
Actions workflow commands (actions)."""
