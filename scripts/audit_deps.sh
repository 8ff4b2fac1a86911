#!/usr/bin/env bash
# Audit the pinned constraints (requirements/constraints.txt) against PyPI's vulnerability
# service with pip-audit. Exit 0: no known vulnerability. Exit 1: a pin has a known
# vulnerability that requirements/audit-ignore.txt does not excuse, or (--strict) a pin could
# not be audited at all, so CI never passes on an audit that did not happen. Exit 2: an
# ignore entry without its reason. Extra arguments go to pip-audit (e.g. -f json, --dry-run).
#
#   scripts/audit_deps.sh                 # what CI runs
#   AUDIT_IGNORE=other.txt scripts/audit_deps.sh -f json -o audit.json
set -euo pipefail
cd "$(dirname "$0")/.."

PIP_AUDIT="${PIP_AUDIT:-.venv/bin/pip-audit}"
IGNORE_FILE="${AUDIT_IGNORE:-requirements/audit-ignore.txt}"

ignores=()
if [[ -f "$IGNORE_FILE" ]]; then
  while read -r id reason; do
    [[ -z "$id" || "$id" == \#* ]] && continue
    if [[ -z "$reason" ]]; then
      echo "$IGNORE_FILE: '$id' has no reason; write 'ID  why it does not affect Shipyard'" >&2
      exit 2
    fi
    ignores+=(--ignore-vuln "$id")
  done <"$IGNORE_FILE"
fi

# Every line of the constraints is an exact pin: audit them as they are (--no-deps), without
# building a throw-away environment (--disable-pip).
exec "$PIP_AUDIT" -r requirements/constraints.txt --no-deps --disable-pip --strict \
  --vulnerability-service pypi --progress-spinner off "${ignores[@]}" "$@"
