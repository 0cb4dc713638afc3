#!/usr/bin/env bash
# System packages the test suite needs, installed only when missing (Debian, as root):
# Chromium for the browser tests (Playwright drives it; it cannot download its own browser
# here), Pango for WeasyPrint's PDF leaflets and a Java 17+ runtime for the Spark engine's
# test (PySpark 4 runs on Java 17 or 21).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing: ${need[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "Need root to apt-get install ${need[*]}; install them and re-run." >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
