#!/usr/bin/env bash
# Colab compatibility: gantools installs into a Colab-like stack without replacing anything there,
# and every explorer builds, and answers a slider move, under that stack's ipywidgets 7.7.1.
#
#   bash tools/colab_compat.sh            # from the repository root (called by .ci/run)
#
# 1. a separate virtualenv .venv-colab in the repository (ignored by git and by the book build),
# 2. a Colab-like stack in it: the CPU torch wheel first (never a bare `torch`, which would pull
#    CUDA packages), then numpy 2.0, ipywidgets 7.7.1 and the rest of Colab's versions below,
# 3. `pip install --dry-run --report` of gantools: fails if pip would replace, upgrade or downgrade
#    any installed package (new packages are listed, and allowed),
# 4. gantools installed (from a copy of its sources, so the work tree gets no build files),
# 5. each explorer built under ipywidgets 7.7.1, one slider of each moved, its figure checked redrawn.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SRC=${GANTOOLS_SRC:-$ROOT}        # where pyproject.toml and gantools/ are read from (tests may point elsewhere)
VENV=$ROOT/.venv-colab
export PIP_DISABLE_PIP_VERSION_CHECK=1 MPLBACKEND=Agg PYTHONUNBUFFERED=1

# Colab's versions of the packages gantools uses (Python 3.11 runtime, 2025).
COLAB_STACK=(
  "numpy==2.0.2"
  "scipy==1.14.1"
  "matplotlib==3.10.0"
  "scikit-learn==1.6.1"
  "tqdm==4.67.1"
  "ipywidgets==7.7.1"
  "ipython==7.34.0"
  "ipykernel==6.17.1"
  "traitlets==5.7.1"
)

start=$(date +%s)
rm -rf "$VENV"
python3 -m venv "$VENV"
PY=$VENV/bin/python
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q torch==2.13.0 ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
"$PY" -m pip install -q "${COLAB_STACK[@]}"
echo "colab-like stack installed in $(( $(date +%s) - start )) s:"
"$PY" -m pip list --format=freeze | grep -i -E '^(torch|numpy|scipy|matplotlib|scikit-learn|tqdm|ipywidgets|ipython|ipykernel|traitlets)==' | sed 's/^/  /'

# gantools' sources, copied so that the build leaves nothing in the work tree
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp "$SRC/pyproject.toml" "$SRC/README.md" "$TMP/"
[ -f "$SRC/LICENSE" ] && cp "$SRC/LICENSE" "$TMP/"
cp -r "$SRC/gantools" "$TMP/gantools"
find "$TMP/gantools" -name __pycache__ -prune -exec rm -rf {} +

# 3. what would pip change? (--no-build-isolation: build with the venv's own setuptools)
"$PY" -m pip install -q setuptools wheel >/dev/null
"$PY" -m pip install --dry-run --no-build-isolation --quiet --report "$TMP/report.json" "$TMP"
"$PY" - "$TMP/report.json" <<'EOF'
import json, sys
from importlib import metadata

report = json.load(open(sys.argv[1]))
installed = {d.metadata["Name"].lower().replace("_", "-"): d.version for d in metadata.distributions()}
replaced, added = [], []
for item in report["install"]:
    name = item["metadata"]["name"].lower().replace("_", "-")
    version = item["metadata"]["version"]
    if name == "gantools":
        continue
    if name in installed:
        replaced.append(f"{name} {installed[name]} -> {version}")
    else:
        added.append(f"{name} {version}")
print(f"pip would add {len(added)} package(s) besides gantools" + (": " + ", ".join(added) if added else ""))
if replaced:
    sys.exit("FAIL: installing gantools would replace Colab's " + "; ".join(replaced))
print("OK: installing gantools replaces no package of the Colab-like stack")
EOF

# 4. the real install, then the same check again on the result
before=$("$PY" -m pip list --format=freeze | grep -v -i '^gantools' | sort)
"$PY" -m pip install -q --no-build-isolation "$TMP"
after=$("$PY" -m pip list --format=freeze | grep -v -i '^gantools' | sort)
changed=$(comm -23 <(echo "$before") <(echo "$after") || true)
if [ -n "$changed" ]; then
  echo "FAIL: the install changed: $changed"; exit 1
fi

# 5. every explorer under ipywidgets 7.7.1, run from outside the repository (the installed copy)
mkdir "$TMP/elsewhere" && cd "$TMP/elsewhere"
"$PY" - <<'EOF'
import time

import ipywidgets
import numpy

import torch

import gantools
from gantools.explorers import EXPLORERS

torch.set_num_threads(1)  # CI's 2 cores are shared with other jobs

assert ipywidgets.__version__ == "7.7.1", ipywidgets.__version__
assert numpy.__version__.startswith("2.0."), numpy.__version__
assert "site-packages" in gantools.__file__, f"gantools imported from {gantools.__file__}, not the installed copy"
print(f"ipywidgets {ipywidgets.__version__}, numpy {numpy.__version__}, gantools from {gantools.__file__}")
for name, build in EXPLORERS.items():
    box = build()
    before = box.image.value
    assert before and not box.message.value, f"{name}: first figure missing ({box.message.value!r})"
    slider = box.controls[box.demo_move[0]]
    t0 = time.perf_counter()
    slider.value = box.demo_move[1]
    dt = time.perf_counter() - t0
    assert not box.message.value, f"{name}: {box.message.value}"
    assert box.image.value != before, f"{name}: moving {box.demo_move[0]} did not redraw the figure"
    print(f"  {name:9s} built; {box.demo_move[0]} -> {box.demo_move[1]!r} redrew the figure in {dt * 1e3:.0f} ms")
print("OK: every explorer builds and redraws under ipywidgets 7.7.1")
EOF
echo "colab compatibility check took $(( $(date +%s) - start )) s"
