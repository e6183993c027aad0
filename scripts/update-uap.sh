#!/usr/bin/env bash
# Refreshes the User-Agent data adapter-uap embeds from uap-core (the
# ua-parser project's regexes.yaml, Apache-2.0), as published on npm:
# keeps the browser and system rules and, of the device rules, only those
# that name crawlers (device family "Spider"); converts them to JSON (so
# the crate needs no YAML parser). Usage: scripts/update-uap.sh [VERSION]
set -euo pipefail
version=${1:-0.18.0}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/crates/adapter-uap/data"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "uap-core@${version}" > /dev/null
tar xzf "uap-core-${version}.tgz"
python3 - "$out" "$version" <<'PY'
import json, sys, yaml
out, version = sys.argv[1], sys.argv[2]
d = yaml.safe_load(open("package/regexes.yaml"))
kept = {
    "user_agent_parsers": d["user_agent_parsers"],
    "os_parsers": d["os_parsers"],
    "device_parsers": [p for p in d["device_parsers"] if p.get("device_replacement") == "Spider"],
}
with open(f"{out}/regexes.json", "w") as f:
    json.dump(kept, f, separators=(",", ":"))
    f.write("\n")
with open(f"{out}/VERSION", "w") as f:
    f.write(f"uap-core {version}\n")
print("kept", {k: len(v) for k, v in kept.items()}, "of", {k: len(v) for k, v in d.items()})
PY
cp package/LICENSE "$out/LICENSE-uap-core"
echo "wrote $out/regexes.json ($(wc -c < "$out/regexes.json") bytes) from uap-core ${version}"
