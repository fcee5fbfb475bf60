#!/bin/bash
# Install what is needed, build memwarden, and run the agent in the
# foreground on this host's real defaults (records as JSON lines on stdout).
# Extra arguments go to memwardend (see memwardend --help).
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh >&2
[ -f build/build.ninja ] || meson setup build -Dtests=false >&2
ninja -C build >&2
exec build/daemon/memwardend "$@"
