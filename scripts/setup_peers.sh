#!/usr/bin/env bash
# Set up the benchmark-only peers of the wake-word benchmark (benchmarks/peer_wakeword.py) in their
# own virtualenv, .venv-peers, never in .venv: openWakeWord 0.5.1, pymicro-wakeword 2.5.0
# (microWakeWord) and pocketsphinx 5.1.1, with numpy, scipy, soundfile. Nothing of the product
# depends on them. Safe to run again: it installs only when something is missing.
#
# openWakeWord is installed without its dependencies: it declares tflite-runtime, which the
# benchmark does not use (it runs openWakeWord's ONNX models) and which wants numpy 1; its other
# run-time needs (onnxruntime, scipy, scikit-learn, tqdm) are named here instead. No torch.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || { echo "setup_peers: $python not found (set PYTHON)" >&2; exit 1; }
venv=.venv-peers
check="import openwakeword, pymicro_wakeword, pocketsphinx, onnxruntime, numpy, scipy, soundfile"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip="$venv/bin/python -m pip"

if ! "$venv/bin/python" -c "$check" 2>/dev/null; then
  $pip install -q --upgrade pip 2>&1 | grep -v -i warning || true
  $pip install -q numpy scipy soundfile "onnxruntime>=1.16,<2" "scikit-learn>=1,<2" "tqdm>=4,<5" \
      "pymicro-wakeword==2.5.0" "pocketsphinx==5.1.1" 2>&1 | grep -v -i warning || true
  $pip install -q --no-deps "openwakeword==0.5.1" 2>&1 | grep -v -i warning || true
fi
"$venv/bin/python" -c "$check" || { echo "setup_peers: the peers did not install in $venv" >&2; exit 1; }
if "$venv/bin/python" -c "import torch" 2>/dev/null; then
  echo "setup_peers: torch got into $venv, which nothing here needs" >&2; exit 1
fi
echo "setup_peers: peers ready in $venv"
