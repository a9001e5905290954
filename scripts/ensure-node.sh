# Sourced by scripts/launch.sh (the entry of `npm test`, `npm run demo`, ...): puts Node 24 LTS first
# on PATH when the machine's node is older than @kubernetes/client-node 2.x needs (>= 22.19). The
# binary comes from the npm registry's node-linux-<arch> package, cached by version and arch (the
# plugin build, scripts/build-plugin.ts, takes its base binaries from the same cache). On failure it
# says so in one line and returns 1.
SOCKEYE_NODE_VERSION="${SOCKEYE_NODE_VERSION:-24.21.0}"
SOCKEYE_CACHE="${SOCKEYE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sockeye}"

sockeye_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=19)?0:1)'
}

# sockeye_fetch_node ARCH (x64|arm64): the pinned Node for ARCH in the cache, fetched once.
sockeye_fetch_node() {
  local arch="$1" dir tmp
  dir="$SOCKEYE_CACHE/node/$SOCKEYE_NODE_VERSION-$arch"
  [ -x "$dir/bin/node" ] && return 0
  command -v npm >/dev/null 2>&1 || { echo "sockeye: npm is missing: install Node 24 LTS" >&2; return 1; }
  echo "sockeye: fetching Node $SOCKEYE_NODE_VERSION for linux-$arch from the npm registry (node-linux-$arch) into $dir" >&2
  tmp="$(mktemp -d)"
  if ! (cd "$tmp" && npm pack --silent "node-linux-$arch@$SOCKEYE_NODE_VERSION" >/dev/null 2>&1 && tar xzf node-linux-*.tgz); then
    rm -rf "$tmp"
    echo "sockeye: could not fetch node-linux-$arch@$SOCKEYE_NODE_VERSION from the npm registry: install Node 24 LTS and run again" >&2
    return 1
  fi
  mkdir -p "$dir" && cp -r "$tmp/package/." "$dir/" && rm -rf "$tmp"
}

sockeye_ensure_node() {
  sockeye_node_ok && return 0
  local have arch
  have="$(node --version 2>/dev/null || echo none)"
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "sockeye: node $have is older than 22.19 and there is no Node package for $(uname -m): install Node 24 LTS" >&2; return 1 ;;
  esac
  echo "sockeye: node $have is older than 22.19; using Node $SOCKEYE_NODE_VERSION" >&2
  sockeye_fetch_node "$arch" || return 1
  export PATH="$SOCKEYE_CACHE/node/$SOCKEYE_NODE_VERSION-$arch/bin:$PATH"
  sockeye_node_ok || { echo "sockeye: Node $SOCKEYE_NODE_VERSION does not run here: install Node 24 LTS" >&2; return 1; }
}

sockeye_ensure_node
