#!/usr/bin/env bash
# Refreshes src/api/ivs-2020-07-14.json, the IVS API model every API shape and constraint is
# checked against, from the `botocore` package on PyPI (data/ivs/2020-07-14/service-2.json.gz),
# with the documentation strings stripped (they are most of its size and nothing reads them).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --no-deps --dest "$work" botocore
python3 - "$work"/botocore-*.whl src/api/ivs-2020-07-14.json <<'PY'
import gzip, json, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    model = json.loads(gzip.decompress(z.read("botocore/data/ivs/2020-07-14/service-2.json.gz")))
def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k != "documentation"}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node
with open(out, "w") as f:
    json.dump(strip(model), f, indent=1, sort_keys=True)
    f.write("\n")
PY
echo "wrote src/api/ivs-2020-07-14.json"
