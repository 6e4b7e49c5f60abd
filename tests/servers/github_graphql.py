"""POST /graphql in the GitHub emulator: the one query the bot makes, `viewer { login }`.

GitHub's GraphQL `viewer` is the token's own account for every kind of token: a user's login
for a personal token, `<app-slug>[bot]` for a GitHub App installation token and
`github-actions[bot]` for the Actions token (both of which get 403 on REST `GET /user`).
Sources: actions/github-script#39 (viewer with the workflow token), fullsend-ai/fullsend#1953
and pingdotgg/t3code#11273 ("`viewer` returns `fullsend-ai-coder[bot]`" for an installation
token). Like GitHub, a query the server does not know is answered 200 with an `errors` list,
an unreadable body 400 "Problems parsing JSON"; authentication is the REST routes' (401).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from tests.servers.github_state import ApiError

if TYPE_CHECKING:
    from tests.servers.github_routes import Ctx, Reply

_VIEWER = re.compile(r"\s*(?:query(?:\s+\w+)?\s*)?\{\s*viewer\s*\{\s*(?P<fields>[\w\s]+?)\s*\}\s*\}\s*")
_FIELDS = {"login", "__typename"}


def post_graphql(ctx: Ctx) -> Reply:
    from tests.servers.github_routes import Reply

    try:
        body = json.loads(ctx.raw or b"")
    except ValueError:
        raise ApiError(400, "Problems parsing JSON", doc="https://docs.github.com/graphql") from None
    query = body.get("query") if isinstance(body, dict) else None
    if not isinstance(query, str):
        raise ApiError(400, "Problems parsing JSON", doc="https://docs.github.com/graphql")
    match = _VIEWER.fullmatch(query)
    fields = match.group("fields").split() if match else []
    if not match or not set(fields) <= _FIELDS:
        return Reply(200, {"errors": [{"message": "the emulator answers only `query { viewer { login } }`",
                                       "locations": [{"line": 1, "column": 1}]}]})
    login = ctx.token.login
    viewer = {"login": login, "__typename": "Bot" if login.endswith("[bot]") else "User"}
    return Reply(200, {"data": {"viewer": {name: viewer[name] for name in fields}}})
