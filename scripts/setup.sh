#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine with Python 3.11: system libraries, a virtualenv in .venv,
# and this package. With --dev: also the model factory (torch, transformers, optimum), the test
# and benchmark tools, offline TTS voices and PulseAudio for the virtual-microphone test.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=0
[ "${1:-}" = "--dev" ] && dev=1

pkgs="libportaudio2 libsndfile1"
[ "$dev" = 1 ] && pkgs="$pkgs pulseaudio pulseaudio-utils libasound2-plugins espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts wamerican"
missing=$(for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v -i warning || true
if [ "$dev" = 1 ]; then
  # torch is pinned in the extra (torch==2.13.0): an unpinned torch would pull a multi-GB CUDA build.
  # Editable (-e): edge and edge-export run this tree's code, not a copy made at set-up time.
  .venv/bin/python -m pip install -q -e ".[export,test,bench,verify]" 2>&1 | grep -v -i warning || true
else
  .venv/bin/python -m pip install -q . 2>&1 | grep -v -i warning || true
fi
.venv/bin/python -c "import edge, onnxruntime, webrtcvad, soundfile" || { echo "setup: the package did not install" >&2; exit 1; }
