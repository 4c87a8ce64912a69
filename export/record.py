"""Model metadata and the JSON record written beside every model the factory makes."""
from __future__ import annotations

import hashlib
import json
import platform
import time
from contextlib import contextmanager
from importlib import metadata as pkg_metadata
from pathlib import Path

from edge.model import METADATA_KEY, ModelSpec

TOOLS = ("edge-audio", "torch", "onnx", "onnxruntime", "transformers", "optimum", "optimum-onnx", "numpy")


class OutputExistsError(FileExistsError):
    """The factory never overwrites a model or record unless told to (--overwrite)."""


def sha256(path) -> str:
    h = hashlib.sha256()
    p = Path(path)
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    for q in files:
        with open(q, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def tool_versions() -> dict:
    out = {"python": platform.python_version()}
    for name in TOOLS:
        try:
            out[name] = pkg_metadata.version(name)
        except pkg_metadata.PackageNotFoundError:
            pass
    return out


def check_writable(*paths, overwrite: bool = False) -> None:
    for p in paths:
        if Path(p).exists() and not overwrite:
            raise OutputExistsError(f"{p} exists; choose another output or pass --overwrite")


def record_path(model_path) -> Path:
    return Path(model_path).with_suffix(".json")


def set_metadata(onnx_path, spec: ModelSpec, extra: dict = None) -> None:
    """Write the spec (and any extra string entries) into the ONNX file's metadata_props."""
    import onnx

    m = onnx.load(str(onnx_path))
    entries = {METADATA_KEY: spec.to_json(), **(extra or {})}
    kept = [p for p in m.metadata_props if p.key not in entries]
    del m.metadata_props[:]
    m.metadata_props.extend(kept)
    for k, v in entries.items():
        m.metadata_props.add(key=k, value=v)
    onnx.save(m, str(onnx_path))


def read_spec(onnx_path) -> ModelSpec:
    import onnx

    from edge.model import ModelError

    m = onnx.load(str(onnx_path), load_external_data=False)
    meta = {p.key: p.value for p in m.metadata_props}
    if METADATA_KEY not in meta:
        raise ModelError(f"{onnx_path}: ONNX model has no '{METADATA_KEY}' metadata; convert it with edge-export convert first")
    return ModelSpec.from_json(meta[METADATA_KEY])


def write_record(model_path, record: dict) -> Path:
    """Write the record JSON beside the model, with size, hash, tools and time filled in."""
    p = Path(model_path)
    full = {
        "model": p.name,
        "bytes": p.stat().st_size,
        "sha256": sha256(p),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tools": tool_versions(),
        **record,
    }
    out = record_path(p)
    out.write_text(json.dumps(full, indent=2, default=str) + "\n")
    return out


@contextmanager
def removed_on_error(*paths):
    """Delete outputs a failed step left half-written (only those that did not exist before)."""
    new = [Path(p) for p in paths if not Path(p).exists()]
    try:
        yield
    except BaseException:
        for p in new:
            if p.is_file():
                p.unlink()
        raise
