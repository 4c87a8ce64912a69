"""The MLPerf-Tiny reference keyword model (DS-CNN, Apache-2.0, trained on ~85,000 Speech
Commands v2 clips) as a PyTorch module, its INT8 weights read from the TFLite file and
dequantized, and the log-mel analysis it needs (the reference's own: magnitude, 30 ms windows
every 20 ms, 40 bands over 20-4000 Hz). Reading the TFLite file needs LiteRT (`[bench]` extra)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.features import LogMelConfig

from . import mlperf as P

MLPERF_LOGMEL = LogMelConfig(n_fft=P.FFT_LENGTH, win_length=P.WINDOW_SAMPLES, hop_length=P.STRIDE_SAMPLES,
                             n_mels=P.NUM_MEL_BINS, fmin=P.MEL_LOW_HZ, fmax=P.MEL_HIGH_HZ, power=1.0)
LAYERS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def tflite_weights(path: Path) -> list:
    """[(op name, float weight, float bias)] of the model's weighted layers, in graph order."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ImportError("LiteRT is needed: pip install ai-edge-litert (or pip install -e '.[bench]')") from None
    interp = Interpreter(model_path=str(path))
    interp.allocate_tensors()
    details = {d["index"]: d for d in interp.get_tensor_details()}
    out = []
    for op in interp._get_ops_details():
        if op["op_name"] not in LAYERS:
            continue
        wi, bi = op["inputs"][1], op["inputs"][2]
        w = interp.get_tensor(wi).astype(np.float32)
        ws = details[wi]["quantization_parameters"]["scales"]
        b = interp.get_tensor(bi).astype(np.float32) * details[bi]["quantization_parameters"]["scales"]
        # per-output-channel scales: the first axis, but the last for a depthwise kernel [1, h, w, channels]
        w = w * (ws.reshape(1, 1, 1, -1) if op["op_name"] == "DEPTHWISE_CONV_2D" else ws.reshape([-1] + [1] * (w.ndim - 1)))
        out.append((op["op_name"], w, b))
    return out


def mlperf_dscnn(peers: Path, labels) -> "torch.nn.Module":
    """The reference DS-CNN holding its trained weights, its outputs in the order of `labels`."""
    import torch

    from .nets import DSCNN

    path = Path(peers) / P.MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"MLPerf-Tiny reference model not found: {path}")
    layers = tflite_weights(path)
    if [k for k, _, _ in layers] != ["CONV_2D"] + ["DEPTHWISE_CONV_2D", "CONV_2D"] * 4 + ["FULLY_CONNECTED"]:
        raise ValueError(f"{path}: not the DS-CNN layout this loader knows")
    names = P.model_labels(Path(peers))
    if sorted(names) != sorted(labels):
        raise ValueError(f"reference labels {names} do not match {list(labels)}")
    order = [names.index(lab) for lab in labels]
    m = DSCNN(len(labels))
    t = torch.from_numpy
    with torch.no_grad():
        _, w, b = layers[0]
        m.conv0.weight.copy_(t(w).permute(0, 3, 1, 2))
        m.conv0.bias.copy_(t(b))
        for i in range(4):
            _, w, b = layers[1 + 2 * i]
            m.dw[i].weight.copy_(t(w).permute(3, 0, 1, 2))
            m.dw[i].bias.copy_(t(b))
            _, w, b = layers[2 + 2 * i]
            m.pw[i].weight.copy_(t(w).permute(0, 3, 1, 2))
            m.pw[i].bias.copy_(t(b))
        _, w, b = layers[9]
        m.head.weight.copy_(t(w[order]))
        m.head.bias.copy_(t(b[order]))
    return m.eval()
