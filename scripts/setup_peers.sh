#!/usr/bin/env bash
# Set up the benchmark-only peers of the wake-word benchmark in their own virtualenv, .venv-peers
# (never .venv: the peers pin old onnxruntime/numpy-era packages that the product must not inherit):
# openWakeWord 0.5.1, pymicro-wakeword 2.5.0 (microWakeWord), pocketsphinx 5.1.1.
# Used by benchmarks/peer_wakeword.py only. Safe to run again: it installs only what is missing.
#
# openWakeWord is installed without its dependencies because it declares tflite-runtime, which we
# do not use (the benchmark runs its ONNX models) and which drags in an old numpy-1 build; its other
# run-time needs (onnxruntime, scipy, scikit-learn, tqdm) are listed here instead. No torch.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || { echo "setup_peers: $python not found (set PYTHON)" >&2; exit 1; }
venv=.venv-peers
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip="$venv/bin/python -m pip"

if ! $venv/bin/python -c "import openwakeword, pymicro_wakeword, pocketsphinx, onnxruntime, soundfile" 2>/dev/null; then
  $pip install -q --upgrade pip 2>&1 | grep -v -i warning || true
  $pip install -q "numpy<2.3" scipy soundfile "onnxruntime>=1.16,<2" scikit-learn tqdm \
      "pymicro-wakeword==2.5.0" "pocketsphinx==5.1.1" 2>&1 | grep -v -i warning || true
  $pip install -q --no-deps "openwakeword==0.5.1" 2>&1 | grep -v -i warning || true
fi
$venv/bin/python -c "import openwakeword, pymicro_wakeword, pocketsphinx, onnxruntime, soundfile" \
  || { echo "setup_peers: the peers did not install in $venv" >&2; exit 1; }
if $venv/bin/python -c "import torch" 2>/dev/null; then
  echo "setup_peers: torch got into $venv; nothing here needs it" >&2; exit 1
fi
echo "setup_peers: peers ready in $venv"
