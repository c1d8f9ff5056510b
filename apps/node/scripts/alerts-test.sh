#!/usr/bin/env bash
# Checks the Prometheus alerting rules shipped with synodd and runs their unit
# tests (series in, alerts out): promtool, from Debian's `prometheus` package.
set -euo pipefail
cd "$(dirname "$0")/../monitoring"
if ! command -v promtool >/dev/null 2>&1; then
  echo "alerts:test: promtool not found: apt-get install prometheus (Debian) or put promtool on PATH" >&2
  exit 1
fi
promtool check rules alerts.yml
promtool test rules alerts.test.yml
