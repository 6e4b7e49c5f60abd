"""`--format sarif`: SARIF 2.1.0 for code-scanning uploads and IDE viewers.

One rule per severity. Results describe the reviewed (head) tree, so a finding on a deleted
line (side LEFT) has no region there: it is attached to the file, with the old line named.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from bot import __version__
from bot.sinks.terminal import skipped_text
from bot.types import SEVERITIES, Finding, RunResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "reviewBot/v1"
LEVELS = {"error": "error", "warning": "warning", "info": "note"}
RULES = tuple(
    {"id": f"review-bot/{severity}",
     "name": f"ReviewBot{severity.capitalize()}",
     "shortDescription": {"text": f"review-bot {severity}: an issue the model found in the changed code"},
     "defaultConfiguration": {"level": LEVELS[severity]}}
    for severity in reversed(SEVERITIES)
)
RULE_INDEX = {rule["id"]: i for i, rule in enumerate(RULES)}


def _result(finding: Finding) -> dict[str, object]:
    rule_id = f"review-bot/{finding.severity}"
    physical: dict[str, object] = {"artifactLocation": {"uri": quote(finding.path, safe="/"),
                                                        "uriBaseId": "%SRCROOT%"}}
    text = finding.message
    if finding.side == "RIGHT":
        region: dict[str, int] = {"startLine": finding.start_line or finding.line}
        if finding.start_line is not None:
            region["endLine"] = finding.line
        physical["region"] = region
    else:
        text += f"\n\n(on line {finding.line} of the old file, deleted by this change)"
    return {
        "ruleId": rule_id,
        "ruleIndex": RULE_INDEX[rule_id],
        "level": LEVELS[finding.severity],
        "message": {"text": text},
        "locations": [{"physicalLocation": physical}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": {"side": finding.side},
    }


class SarifFormatter:
    name = "sarif"

    def render(self, result: RunResult) -> str:
        notifications = [{"level": "note", "message": {"text": f"skipped {skipped_text(s)}"}}
                         for s in result.skipped]
        run = {
            "tool": {"driver": {"name": "review-bot", "version": __version__, "rules": list(RULES)}},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            "results": [_result(f) for f in sorted(result.findings, key=lambda f: (f.path, f.line))],
        }
        if result.model:
            run["properties"] = {"model": result.model, "template": result.template}
        document = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
        return json.dumps(document, indent=2, ensure_ascii=True) + "\n"
