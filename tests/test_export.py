"""The export stage for Hugging Face wav2vec2/HuBERT classifiers: convert, float16, INT8, layer
pruning, records and the edge-export CLI. Tiny models are built from small configs (offline);
real audio comes from ../shared/data."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the export extra is needed: pip install -e .[export]")

from edge.model import Model  # noqa: E402
from export.data import COMMAND_LABELS, fold_of, load_clips, speech_commands  # noqa: E402

LOGIT_TOL = 1e-4  # float32 ONNX vs torch, largest |logit difference|
FP16_TOL = 5e-3  # float16 ONNX vs torch
INT8_PROB_TOL = 0.1  # INT8 vs float32, largest probability difference on real clips
TINY = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=64, conv_dim=(16, 16, 16),
            conv_kernel=(10, 3, 3), conv_stride=(5, 2, 2), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
CLIPS_PER_LABEL = 2


def save_tiny(folder: Path, kind: str = "wav2vec2", do_normalize: bool = True, head: str = "classification") -> Path:
    """A tiny random-weight audio classifier with the 12 command labels, saved like a hub checkpoint."""
    import transformers as T

    labels = {i: lab for i, lab in enumerate(COMMAND_LABELS)}
    cfg_cls = T.HubertConfig if kind == "hubert" else T.Wav2Vec2Config
    cfg = cfg_cls(**TINY, num_labels=len(labels), id2label=labels, label2id={v: k for k, v in labels.items()})
    torch.manual_seed(0)
    if head == "ctc":
        model = T.Wav2Vec2ForCTC(cfg)
    else:
        model = (T.HubertForSequenceClassification if kind == "hubert" else T.Wav2Vec2ForSequenceClassification)(cfg)
    model.eval().save_pretrained(folder)
    T.Wav2Vec2FeatureExtractor(sampling_rate=16_000, do_normalize=do_normalize).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    return tmp_path_factory.mktemp("export")


@pytest.fixture(scope="module", params=["wav2vec2", "hubert"])
def exported(request, factory):
    """(checkpoint folder, fp32 ONNX path) for each architecture."""
    from export.hf import convert

    ck = save_tiny(factory / f"{request.param}_ckpt", request.param)
    out = factory / f"{request.param}.onnx"
    convert(ck, out, progress=False)
    return ck, out


@pytest.fixture(scope="module")
def w2v2(factory):
    from export.hf import convert

    ck = save_tiny(factory / "w2v2_ckpt")
    out = factory / "w2v2.onnx"
    convert(ck, out, progress=False)
    return ck, out


@pytest.fixture(scope="module")
def real_clips(data_root):
    """A few held-out Speech Commands clips per label (speaker-disjoint fold 0)."""
    clips = [c for c in speech_commands(data_root) if fold_of(c.group, 5) == 0]
    return [c for lab in COMMAND_LABELS for c in [c for c in clips if c.label == lab][:CLIPS_PER_LABEL]]


@pytest.fixture(scope="module")
def real_folder(factory, real_clips):
    """The same clips as a labelled folder in Speech Commands layout (<label>/<clip>)."""
    folder = factory / "labelled"
    for c in real_clips:
        (folder / c.label).mkdir(parents=True, exist_ok=True)
        (folder / c.label / c.path.name).symlink_to(c.path)
    return folder


def torch_logits(ck: Path, x: np.ndarray, normalize: bool = True) -> np.ndarray:
    from export.hf import load_torch, torch_logits

    return torch_logits(load_torch(ck), x, normalize)


def test_exported_logits_match_torch_at_any_batch_and_length(exported):
    import onnxruntime as ort

    from export.hf import normalize_windows

    ck, path = exported
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    assert len(inp.shape) == 2 and all(isinstance(d, str) for d in inp.shape), inp.shape  # dynamic batch and samples
    rng = np.random.default_rng(1)
    for batch, n in [(1, 16_000), (3, 16_000), (2, 12_345)]:
        x = (rng.standard_normal((batch, n)) * 0.1).astype(np.float32)
        got = sess.run(None, {inp.name: normalize_windows(x, True)})[0]
        np.testing.assert_allclose(got, torch_logits(ck, x), atol=LOGIT_TOL, rtol=0)


def test_model_carries_labels_and_front_end_and_scores_sum_to_one(exported, real_clips):
    ck, path = exported
    m = Model(str(path))
    config = json.loads((ck / "config.json").read_text())
    assert m.labels == tuple(config["id2label"][str(i)] for i in range(len(config["id2label"])))
    assert m.spec.frontend == {"type": "raw", "normalize": True} and m.spec.task == "classify"
    assert m.spec.sample_rate == 16_000 and m.spec.window_samples == 16_000
    p = m.scores(load_clips(real_clips))
    assert p.shape == (len(real_clips), len(COMMAND_LABELS))
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    # a waveform model streams with idle hops too: where the model runs, the scores of every hop
    from edge.pipeline import StreamConfig, StreamingPipeline

    audio = np.concatenate(load_clips(real_clips[:4]))
    every = StreamingPipeline(m, StreamConfig(vad=False, smoothing=1, idle_stride=1))
    idle = StreamingPipeline(m, StreamConfig(vad=False, smoothing=1, idle_stride=2, idle_below=0.99))
    for i in range(len(audio) // 1_600):
        every.process(audio[i * 1_600:(i + 1) * 1_600])
        ran = idle.hops_scored
        idle.process(audio[i * 1_600:(i + 1) * 1_600])
        if idle.hops_scored > ran:
            np.testing.assert_allclose(idle.decide.average, every.decide.average, atol=1e-6)
    assert 0 < idle.hops_scored < every.hops_scored


def test_runtime_scores_equal_torch_on_real_audio(w2v2, real_clips):
    ck, path = w2v2
    x = load_clips(real_clips)
    logits = torch_logits(ck, x)
    want = np.exp(logits - logits.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    np.testing.assert_allclose(Model(str(path)).scores(x), want, atol=1e-4)


def test_feature_extractor_without_normalisation_is_carried(factory):
    from export.hf import convert

    ck = save_tiny(factory / "nonorm_ckpt", do_normalize=False)
    out = factory / "nonorm.onnx"
    convert(ck, out, task="commands", progress=False)
    spec = Model(str(out)).spec
    assert spec.frontend == {"type": "raw", "normalize": False}
    assert spec.task == "commands" and set(spec.background) == {"_silence_", "_unknown_"}


def test_record_round_trips_and_names_the_source(w2v2):
    from edge.model import ModelSpec
    from export.record import read_spec, record_path, sha256

    ck, path = w2v2
    rec = json.loads(record_path(path).read_text())
    assert rec["source"]["sha256"] == sha256(ck) and rec["source"]["checkpoint"] == str(ck.resolve())
    assert rec["sha256"] == sha256(path) and rec["bytes"] == path.stat().st_size
    assert ModelSpec.from_json(json.dumps(rec["spec"])) == read_spec(path)
    export = rec["steps"][0]
    assert export["step"] == "export" and max(export["max_abs_logit_diff"].values()) < LOGIT_TOL
    assert {"torch", "onnx", "onnxruntime", "transformers", "optimum"} <= set(rec["tools"])


def test_dynamic_int8_holds_integer_matmuls_and_agrees_on_real_clips(w2v2, factory, real_clips):
    from export.evaluate import evaluate
    from export.quantize import QuantizeConfig, quantize_file, quantized_op_counts

    _, fp32 = w2v2
    out = factory / "w2v2_dyn.onnx"
    rec = quantize_file(fp32, out, QuantizeConfig(mode="dynamic"), check_clips=real_clips)
    ops = quantized_op_counts(out)
    assert ops.get("MatMulInteger", 0) > 0 and ops.get("DynamicQuantizeLinear", 0) > 0, ops
    assert rec["check"]["source"]["max_prob_diff"] < INT8_PROB_TOL
    assert [s["step"] for s in rec["steps"]] == ["export", "quantize"]
    assert rec["source"]["origin"]["checkpoint"] == str(w2v2[0].resolve())
    np.testing.assert_allclose(Model(str(out)).scores(load_clips(real_clips)).sum(1), 1.0, atol=1e-5)
    assert evaluate(out, real_clips)["n"] == len(real_clips)


def test_static_int8_is_qdq_calibrated_on_real_audio(w2v2, factory, real_folder, real_clips):
    from export.quantize import STATIC_DEFAULT_OPS, QuantizeConfig, quantize_file, quantized_op_counts

    _, fp32 = w2v2
    out = factory / "w2v2_static.onnx"
    rec = quantize_file(fp32, out, QuantizeConfig(mode="static", op_types=STATIC_DEFAULT_OPS), calibration_dir=real_folder,
                        calibration_windows=16, check_clips=real_clips)
    ops = quantized_op_counts(out)
    assert ops.get("QuantizeLinear", 0) > 0 and ops.get("DequantizeLinear", 0) > 0, ops
    assert rec["steps"][-1]["calibration_windows"] == 16 and rec["steps"][-1]["names_compacted_bytes"] > 0
    assert rec["check"]["source"]["max_prob_diff"] < INT8_PROB_TOL
    assert Model(str(out)).labels == COMMAND_LABELS


def test_compact_names_keeps_every_output_and_the_graph_interface(tmp_path):
    import onnx
    import onnxruntime as ort

    from export.quantize import compact_names

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv1d(40, 8, 3), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                              torch.nn.AdaptiveAvgPool1d(1), torch.nn.Flatten(), torch.nn.Linear(8, 12)).eval()
    path = tmp_path / "long_names.onnx"
    torch.onnx.export(net, (torch.zeros(1, 40, 98),), str(path), input_names=["features"], output_names=["logits"],
                      dynamic_axes={"features": {0: "batch"}}, opset_version=17, dynamo=False)
    x = np.random.default_rng(0).standard_normal((3, 40, 98)).astype(np.float32)
    before = ort.InferenceSession(str(path)).run(None, {"features": x})[0]
    size = path.stat().st_size
    saved = compact_names(path)
    assert saved == size - path.stat().st_size and saved > 0
    graph = onnx.load(str(path)).graph
    assert [v.name for v in graph.input] == ["features"] and [v.name for v in graph.output] == ["logits"]
    assert max(len(t) for n in graph.node for t in list(n.input) + list(n.output) if t not in ("features", "logits")) <= 4
    np.testing.assert_array_equal(ort.InferenceSession(str(path)).run(None, {"features": x})[0], before)


def test_fp16_graph_loads_in_onnxruntime_and_matches_torch(factory, real_clips):
    from export.hf import convert

    ck = save_tiny(factory / "fp16_ckpt", "hubert")
    out = factory / "hubert16.onnx"
    rec = convert(ck, out, fp16=True, progress=False)
    assert max(rec["steps"][-1]["max_abs_logit_diff"].values()) < FP16_TOL
    import onnx

    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in onnx.load(str(out)).graph.initializer)
    np.testing.assert_allclose(Model(str(out)).scores(load_clips(real_clips)).sum(1), 1.0, atol=1e-3)


def test_fp16_repairs_the_float32_cast_that_stops_loading(w2v2, factory):
    """A no-op Cast(to=FLOAT) in the graph: the plain converter's output does not load, ours does."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper
    from onnxconverter_common import float16

    from export.fp16 import to_float16

    m = onnx.load(str(w2v2[1]))
    i = next(k for k, n in enumerate(m.graph.node) if n.op_type == "LayerNormalization")
    produced = m.graph.node[i].output[0]
    m.graph.node[i].output[0] = produced + "_before_cast"
    m.graph.node.insert(i + 1, helper.make_node("Cast", [produced + "_before_cast"], [produced], to=TensorProto.FLOAT))
    src = factory / "with_cast.onnx"
    onnx.save(m, str(src))
    plain = factory / "plain16.onnx"
    onnx.save(float16.convert_float_to_float16(onnx.load(str(src)), keep_io_types=True), str(plain))
    with pytest.raises(Exception, match="(?i)type"):
        ort.InferenceSession(str(plain), providers=["CPUExecutionProvider"])
    step = to_float16(src, factory / "fixed16.onnx")
    assert step["noop_casts_dropped"] == 1 and step["max_abs_output_diff_vs_fp32"] < FP16_TOL


def test_prune_keeps_the_first_layers(w2v2, factory):
    import transformers as T

    from export.prune import prune

    ck, _ = w2v2
    out = factory / "pruned"
    rec = prune(ck, out, 1, progress=False)
    m = T.AutoModelForAudioClassification.from_pretrained(str(out), local_files_only=True).eval()
    assert m.config.num_hidden_layers == 1 and len(m.base_model.encoder.layers) == 1
    assert rec["steps"] == [{"step": "keep_layers", "kept": 1, "of": TINY["num_hidden_layers"]}]
    full = T.AutoModelForAudioClassification.from_pretrained(str(ck), local_files_only=True).eval()
    for a, b in zip(m.base_model.encoder.layers[0].parameters(), full.base_model.encoder.layers[0].parameters()):
        assert torch.equal(a, b)  # the kept layer is the original first layer
    assert json.loads((out / "model.json").read_text())["source"]["sha256"] == rec["source"]["sha256"]


def test_prune_with_finetune_changes_weights_and_converts(w2v2, factory, real_clips):
    from export.hf import convert
    from export.prune import FinetuneConfig, prune
    from safetensors.numpy import load_file

    ck, _ = w2v2
    out = factory / "pruned_ft"
    rec = prune(ck, out, 2, finetune_clips=real_clips, ft=FinetuneConfig(epochs=1, batch=8, lr=1e-3), progress=False)
    assert rec["steps"][-1]["step"] == "finetune" and np.isfinite(rec["steps"][-1]["history"][0]["loss"])
    before, after = load_file(str(ck / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert not np.array_equal(before["classifier.weight"], after["classifier.weight"])
    np.testing.assert_array_equal(before["wav2vec2.feature_extractor.conv_layers.0.conv.weight"],
                                  after["wav2vec2.feature_extractor.conv_layers.0.conv.weight"])  # encoder frozen
    onnx_path = factory / "pruned_ft.onnx"
    rec = convert(out, onnx_path, progress=False)
    assert [s["step"] for s in rec["steps"]] == ["keep_layers", "finetune", "export"]


def test_prune_rejects_impossible_layer_counts(w2v2, factory):
    from export.prune import prune

    with pytest.raises(ValueError, match="between 1 and 3"):
        prune(w2v2[0], factory / "none", 0, progress=False)


# --- the CLI ---------------------------------------------------------------------------------------

def run_cli(capsys, *args) -> tuple:
    from export.cli import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse usage errors
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(code, err) -> str:
    assert code == 2, (code, err)
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("edge-export: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def bad_inputs(factory):
    import onnx
    from onnx import TensorProto, helper

    ctc = save_tiny(factory / "ctc_ckpt", head="ctc")
    pickled = factory / "pickled_ckpt"
    pickled.mkdir()
    for name in ("config.json", "preprocessor_config.json"):
        (pickled / name).write_text((factory / "ctc_ckpt" / name).read_text().replace("Wav2Vec2ForCTC", "Wav2Vec2ForSequenceClassification"))
    (pickled / "pytorch_model.bin").write_bytes(b"not loaded")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 16000])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 16000])
    bare = factory / "bare.onnx"
    onnx.save(helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])), str(bare))
    no_audio = factory / "no_audio"
    (no_audio / "yes").mkdir(parents=True)
    (no_audio / "yes" / "readme.txt").write_text("no audio here")
    return {"ctc": ctc, "pickled": pickled, "bare": bare, "no_audio": no_audio}


def test_cli_bad_inputs_exit_2_with_one_line(capsys, factory, w2v2, bad_inputs, data_root):
    ck, onnx_path = w2v2
    cases = [
        (("convert", factory / "missing", "-o", factory / "x.onnx"), "no such checkpoint"),
        (("convert", bad_inputs["ctc"], "-o", factory / "x.onnx"), "not an audio-classification model"),
        (("convert", bad_inputs["pickled"], "-o", factory / "x.onnx"), "safetensors"),
        (("convert", ck, "-o", onnx_path), "exists"),
        (("quantize", bad_inputs["bare"], "-o", factory / "x.onnx", "--mode", "dynamic"), "no 'edge' metadata"),
        (("quantize", onnx_path, "-o", factory / "x.onnx", "--mode", "static", "--calibration", bad_inputs["no_audio"]), "no audio files"),
        (("quantize", onnx_path, "-o", factory / "x.onnx", "--mode", "static"), "--calibration"),
        (("quantize", onnx_path, "-o", onnx_path, "--mode", "dynamic"), "exists"),
        (("quantize", onnx_path, "-o", factory / "x.onnx"), "--mode"),
        (("quantize", onnx_path, "-o", factory / "x.onnx", "--mode", "dynamic", "--op-types", "LSTM"), "nothing was quantized"),
        (("prune", ck, "--keep-layers", "9", "-o", factory / "p"), "between 1 and 3"),
        (("evaluate", factory / "missing.onnx", "--data", bad_inputs["no_audio"]), "no such model"),
        (("evaluate", onnx_path, "--data", bad_inputs["no_audio"]), "no audio"),
        (("train-commands", "-o", factory / "x.onnx", "--data", factory / "missing"), "data folder not found"),
        (("train-commands", "-o", onnx_path, "--data", data_root), "exists"),
        (("train-commands", "-o", factory / "x.onnx", "--data", data_root, "--channels", "16,x"), "--channels"),
        (("train-commands", "-o", factory / "x.onnx", "--data", data_root, "--reference", "1.5"), "reference_weight must be in"),
        (("train-commands", "-o", factory / "x.onnx", "--data", data_root, "--reference", "0.5", "--peers", factory / "missing"),
         "reference model not found"),
    ]
    for args, expected in cases:
        code, _, err = run_cli(capsys, *args)
        assert expected in one_line_error(code, err), (args, err)
    assert not (factory / "x.onnx").exists() and not (factory / "p").exists()


def test_cli_convert_and_quantize_write_checked_records(capsys, factory, real_folder):
    ck = save_tiny(factory / "cli_ckpt")
    fp32, int8 = factory / "cli.onnx", factory / "cli_int8.onnx"
    code, _, err = run_cli(capsys, "convert", ck, "-o", fp32, "--check", real_folder)
    assert code == 0, err
    rec = json.loads(fp32.with_suffix(".json").read_text())
    assert rec["check"]["n"] == len(COMMAND_LABELS) * CLIPS_PER_LABEL and rec["check"]["source"]["top1_agreement"] == 1.0
    code, _, err = run_cli(capsys, "quantize", fp32, "-o", int8, "--mode", "static", "--calibration", real_folder,
                           "--calibration-windows", "8", "--preset", "avx2", "--calibration-method", "percentile",
                           "--check", real_folder)
    assert code == 0, err
    rec = json.loads(int8.with_suffix(".json").read_text())
    assert rec["steps"][-1]["reduce_range"] is True and rec["steps"][-1]["calibration_method"] == "percentile"
    assert rec["source"]["sha256"] == json.loads(fp32.with_suffix(".json").read_text())["sha256"]
    code, out, err = run_cli(capsys, "evaluate", int8, "--data", real_folder, "--source", fp32, "--json")
    assert code == 0 and json.loads(out)["n"] == len(COMMAND_LABELS) * CLIPS_PER_LABEL


def test_console_script_error_is_one_line_without_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "export.cli", "convert", str(tmp_path / "nothing"), "-o", str(tmp_path / "x.onnx")],
                       capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert "no such checkpoint folder" in one_line_error(r.returncode, r.stderr)


def test_reference_port_scores_as_the_tflite_reference_on_real_clips(data_root, peers_root):
    """The MLPerf-Tiny DS-CNN read into PyTorch, on our log-mel at its analysis, against the INT8
    TFLite model on its own MFCCs (export/mlperf.py), on every tenth dev clip."""
    from edge.features import LogMel
    from export.mlperf import MODEL_FILE, TfliteKws, mfcc, model_labels, scale_and_pad
    from export.pretrained import MLPERF_LOGMEL, mlperf_dscnn

    clips = speech_commands(data_root)[::10]
    audio = load_clips(clips)
    truth = np.array([COMMAND_LABELS.index(c.label) for c in clips])
    with torch.no_grad():
        ours = mlperf_dscnn(peers_root, COMMAND_LABELS)(torch.from_numpy(LogMel(MLPERF_LOGMEL)(audio))).argmax(1).numpy()
    tfl, names = TfliteKws(peers_root / MODEL_FILE), model_labels(peers_root)
    ref = np.array([COMMAND_LABELS.index(names[tfl.scores(mfcc(scale_and_pad(a))).argmax()]) if a.max() > 0 else -1 for a in audio])
    keep = ref >= 0  # a clip of pure zeros has no peak to normalise by
    assert np.mean(ours[keep] == ref[keep]) >= 0.9
    assert np.mean(ours == truth) >= np.mean(ref[keep] == truth[keep]) - 0.03


def test_a_two_input_model_feeds_each_input_its_own_front_end(tmp_path, data_root, real_folder):
    from edge.features import LogMel, LogMelConfig
    from edge.model import ModelError
    from edge.pipeline import StreamConfig, StreamingPipeline
    from export.kws import REFERENCE_INPUT, commands_spec, export_onnx
    from export.nets import DSCNN, LogProbMean, TCResNet
    from export.pretrained import MLPERF_LOGMEL
    from export.record import set_metadata

    torch.manual_seed(0)
    net = LogProbMean([TCResNet(12, 40, (8, 8), 3), DSCNN(12, channels=8)], [0.6, 0.4]).eval()
    path = tmp_path / "two.onnx"
    export_onnx(net, path, 40, 98, {REFERENCE_INPUT: (40, 49)})
    set_metadata(path, commands_spec({REFERENCE_INPUT: MLPERF_LOGMEL.to_dict()}))
    model = Model(str(path))
    audio = load_clips(speech_commands(data_root)[:5])
    with torch.no_grad():
        logp = net(torch.from_numpy(LogMel(LogMelConfig())(audio)), torch.from_numpy(LogMel(MLPERF_LOGMEL)(audio)))
    np.testing.assert_allclose(model.scores(audio), torch.softmax(logp, 1).numpy(), atol=1e-5)
    # the stream computes both front ends a hop at a time; the window it scores gets the batch scores
    pipe, seen = StreamingPipeline(model, StreamConfig(vad=False)), []
    decide = pipe.decide.process
    pipe.decide.process = lambda scores, t: (seen.append(scores), decide(scores, t))[1]
    pipe.process(np.concatenate(audio))
    assert len(seen) == 50  # one score a 100 ms hop; the window ending at hop 10k + 9 is clip k
    np.testing.assert_allclose(np.stack(seen[9::10]), model.scores(audio), atol=1e-4)
    # static INT8 of it, calibrated on real clips through both front ends
    from export.quantize import QuantizeConfig, quantize_file

    int8 = tmp_path / "two_int8.onnx"
    rec = quantize_file(path, int8, QuantizeConfig(mode="static", per_channel=True, op_types=("Conv", "Gemm")),
                        calibration_dir=real_folder, calibration_windows=8)
    assert rec["steps"][-1]["calibration_windows"] == 8
    assert np.abs(Model(str(int8)).scores(audio) - model.scores(audio)).max() < 0.2
    set_metadata(path, commands_spec({"not_in_the_graph": MLPERF_LOGMEL.to_dict()}))
    with pytest.raises(ModelError, match="expected one input beside"):
        Model(str(path))
