#!/usr/bin/env bash
# The entry of `npm test`, `npm run demo` and the other scripts that need more than `npm ci` gives.
# It checks what they need and gets what it can by itself, one line per step, then runs them under
# Node >= 22.19. Where it cannot (not Linux, not root, no apt, no Go), it stops with one line that
# says what is missing and the command that fixes it, exit 3: never a stack trace.
#
# This file must run under any Node (it is plain bash): the machine's node may be too old for
# TypeScript type stripping and for @kubernetes/client-node 2.x.
#
# Usage: scripts/launch.sh test [VITEST ARGS...]      type-check, lint, the whole suite
#        scripts/launch.sh run FILE.ts [ARGS...]      a script that needs the local cluster (demo, bench)
#        scripts/launch.sh node FILE.ts [ARGS...]     a script that needs only Node (and built binaries)
# SOCKEYE_LAUNCH_DRY_RUN=1 prints what would run instead of running it (the launcher's own test).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
say() { echo "sockeye: $*" >&2; }
stop() { say "$*"; exit 3; }

task="${1:-}"
[ $# -gt 0 ] && shift
case "$task" in
  test | run) cluster=1 ;;
  node) cluster=0 ;;
  *) stop "usage: scripts/launch.sh test|run|node [ARGS...] (got '${task}')" ;;
esac
[ "$task" = test ] || [ $# -gt 0 ] || stop "usage: scripts/launch.sh $task FILE.ts [ARGS...]"

# --- what the local cluster needs: Linux, root, Debian's tools, Go for the upstream binaries ---
if [ "$cluster" = 1 ]; then
  os="$(uname -s)"
  [ "$os" = Linux ] || stop "the local cluster needs Linux (network namespaces, nftables); this is $os: run it in a Linux VM or container"
  again="npm ${npm_lifecycle_event:-test}"
  [ "${npm_lifecycle_event:-test}" = test ] || again="npm run $npm_lifecycle_event"
  [ "$(id -u)" = 0 ] || stop "the local cluster needs root (it makes network namespaces and nft tables): run it as root, e.g. sudo env \"PATH=\$PATH\" $again"

  # command → Debian package that provides it
  declare -A provider=([ip]=iproute2 [nft]=nftables [openssl]=openssl [nmap]=nmap [prlimit]=util-linux [flock]=util-linux)
  missing=()
  for cmd in ip nft openssl nmap prlimit flock; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${provider[$cmd]}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    command -v apt-get >/dev/null 2>&1 ||
      stop "missing ${missing[*]} and there is no apt-get here: install them with your package manager"
    say "installing Debian packages ${missing[*]} (apt-get)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/tmp/sockeye-apt.log 2>&1; then
      stop "apt-get could not install ${missing[*]} (log: /tmp/sockeye-apt.log): run apt-get install -y ${missing[*]}"
    fi
  fi

  # Go is needed only while an upstream binary is not built yet; the script says which in one line.
  bash "$root/cluster/build-binaries.sh" --check >&2 || exit 3
fi

# --- Node >= 22.19: the machine's, or Node 24 from the npm registry, cached ---
# shellcheck source=ensure-node.sh
source "$here/ensure-node.sh" || exit 3
say "node $(node --version) ($(command -v node))"

cd "$root"
if [ "${SOCKEYE_LAUNCH_DRY_RUN:-}" = 1 ]; then
  say "would run $task $*"
  exit 0
fi
case "$task" in
  test)
    # The plugin test (test/plugin) packs both linux builds of the pinned Node: fetched here, before
    # the tests, so no test itself reaches beyond loopback and the local cluster.
    for arch in x64 arm64; do sockeye_fetch_node "$arch" || exit 3; done
    say "type-check"
    npm run --silent typecheck
    say "lint"
    npm run --silent lint
    say "tests (the first run builds the upstream binaries and starts a local cluster)"
    exec npx vitest run "$@"
    ;;
  *) exec node "$@" ;;
esac
