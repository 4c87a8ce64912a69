"""Plots and reports of the slice benchmark (benchmarks/slices.py): PNGs of model size against
accuracy per slice, report.md, and one self-contained report.html (images and misclassified
clips inlined as base64, the clips playable in <audio> elements)."""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

SIZE_PLOT = "gender_size_vs_accuracy.png"
NOISE_PLOT = "commands_noise_snr.png"
PLOT_DPI = 90
AUDIO_PER_SLICE = 2  # misclassified clips shown per worst slice
AUDIO_MODELS = ("gender-base-int8", "commands-int8")  # whose worst slices get playable clips
TABLE_ROWS = 8  # rows per comparison table
SAMPLE_RATE = 16_000


def pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def gender_int8_models(summary: dict) -> list:
    """The INT8 size variants (not the TTS ablation), smallest first."""
    names = [n for n, m in summary["models"].items() if m["task"] == "gender" and n.endswith("-int8") and "tts" not in n]
    return sorted(names, key=lambda n: summary["models"][n]["bytes"])


def plot_size_vs_accuracy(summary: dict, path: Path, min_support: int) -> Path:
    """Model size against accuracy, one line per [gender, emotion] slice and one per speaker."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = gender_int8_models(summary)
    models = [summary["models"][n] for n in names]
    kb = [m["bytes"] / 1000 for m in models]
    fig, axes = plt.subplots(1, 2, figsize=(12, 6.5), sharey=True)
    for ax, column in zip(axes, ("gender & emotion", "speaker")):
        values = sorted(models[0]["slices"][column])
        for i, v in enumerate(values):
            if models[0]["slices"][column][v]["support"] < min_support:
                continue
            acc = [m["slices"][column][v]["accuracy"] for m in models]
            ax.plot(kb, acc, marker="o", color=matplotlib.colormaps["tab20"](i % 20), label=f"{v} ({models[0]['slices'][column][v]['support']})")
        ax.plot(kb, [m["accuracy"] for m in models], color="black", linewidth=3, marker="s", label="overall")
        ax.set_xscale("log")
        ax.set_xticks(kb, [f"{n.split('-')[1]}\n{k:.0f} KB" for n, k in zip(names, kb)])
        ax.minorticks_off()
        ax.set_xlabel("INT8 model size (log scale)")
        ax.set_title(f"speaker-independent accuracy per {column}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    axes[0].set_ylabel("clip accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=PLOT_DPI)
    plt.close(fig)
    return path


def plot_noise(summary: dict, path: Path) -> Path:
    """Commands model: accuracy against SNR, one line per noise type, the clean accuracy as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = summary["models"]["commands-int8"]
    table = m["slices"]["noise & snr"]
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    noises = sorted({k.split("/")[0] for k in table} - {"none"})
    for noise in noises:
        pts = sorted((int(k.split("/")[1].split()[0]), v["accuracy"]) for k, v in table.items() if k.startswith(noise + "/"))
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=noise)
    ax.axhline(table["none/clean"]["accuracy"], color="black", linestyle="--", label="clean")
    ax.set_xlabel("SNR (dB)")
    ax.set_ylabel("accuracy (held-out speakers)")
    ax.set_title(f"commands model ({m['bytes'] / 1000:.0f} KB INT8) in real noise")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=PLOT_DPI)
    plt.close(fig)
    return path


def pick_examples(summary: dict, results: dict, max_clips: int) -> list:
    """Misclassified clips of the worst slices: (model, slice, row), at most AUDIO_PER_SLICE per slice."""
    picked, per_model = [], max(1, max_clips // len(AUDIO_MODELS))
    for name in AUDIO_MODELS:
        if name not in results:
            continue
        chosen = []
        for s in summary["models"][name]["worst_slices"]:
            wrong = [r for r in results[name]["rows"] if r["truth"] != r["pred"] and all(str(r[c]) == v for c, v in s["key"])]
            chosen += [(name, s["slice"], r) for r in wrong if r not in [c[2] for c in chosen]][:AUDIO_PER_SLICE]
        picked += chosen[:per_model]
    return picked[:max_clips]


def audio_data_uri(x: np.ndarray) -> str:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(x, -1, 1), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return "data:audio/flac;base64," + base64.b64encode(buf.getvalue()).decode()


def example_audio(row: dict, noises: dict) -> np.ndarray:
    from edge.audio import load_audio

    from .slices import commands_audio

    return commands_audio(row, noises) if "noise" in row else load_audio(row["audio"])


def md_table(header: list, rows: list) -> list:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(map(str, r)) + " |" for r in rows]


def html_table(header: list, rows: list) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c if str(c).startswith('<') else html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def sections(summary: dict) -> list:
    """(title, header, rows) of every table, shared by report.md and report.html."""
    models = summary["models"]
    out = [("Models", ["model", "bytes", "accuracy", "n"],
            [[n, f"{m['bytes']:,}", pct(m["accuracy"]), m["n"]] for n, m in models.items()])]
    gender = [n for n, m in models.items() if m["task"] == "gender"]
    for column in ("gender & emotion", "speaker", "emotion"):
        values = sorted(models[gender[0]]["slices"][column])
        out.append((f"Gender models per {column} (speaker-independent)", [column, "n"] + gender,
                    [[v, models[gender[0]]["slices"][column][v]["support"]] + [pct(models[n]["slices"][column][v]["accuracy"]) for n in gender]
                     for v in values]))
    c = models.get("commands-int8")
    if c:
        for column in ("noise & snr", "keyword"):
            out.append((f"Commands model per {column} ({c['held_out']})", [column, "n", "accuracy"],
                        [[k, v["support"], pct(v["accuracy"])] for k, v in c["slices"][column].items()]))
    for n, m in models.items():
        out.append((f"Worst slices: {n} (overall {pct(m['accuracy'])})", ["slice", "n", "accuracy", "drop", "excess errors"],
                    [[s["slice"], s["support"], pct(s["accuracy"]), pct(s["drop"]), s["excess_errors"]] for s in m["worst_slices"]]
                    or [["(none above the thresholds)", "", "", "", ""]]))
    for cmp in summary["comparisons"]:
        rows = [[s["slice"], s["support"], pct(s["accuracy_a"]), pct(s["accuracy_b"]), f"{100 * s['delta']:+.1f}"] for s in cmp["b_loses"][:TABLE_ROWS]]
        out.append((f"Where {cmp['b']} ({cmp['bytes_b']:,} B, {pct(cmp['accuracy_b'])}) loses against {cmp['a']} "
                    f"({cmp['bytes_a']:,} B, {pct(cmp['accuracy_a'])})", ["slice", "n", cmp["a"], cmp["b"], "points"],
                    rows or [["(nowhere)", "", "", "", ""]]))
    return out


INTRO = ("Gender models: EmoDB, 8 speakers, every figure speaker-independent (folds of one female and one male speaker; "
         "a clip is decided by the mean of its 1-s window probabilities). Commands model: its held-out Speech Commands "
         "speakers, clean and mixed with each background-noise file at 0, 10 and 20 dB SNR. Worst slices: combinations of up to "
         "two metadata columns with at least {min_support} examples and at least {drop:.0f} points below the model's overall accuracy.")


def write_markdown(out: Path, summary: dict, plots: list) -> Path:
    s = summary["search"]
    lines = ["# Slice benchmark", "", INTRO.format(min_support=s["min_support"], drop=100 * s["min_drop"]), ""]
    lines += [f"![{p.stem}]({p.name})" for p in plots] + [""]
    for title, header, rows in sections(summary):
        lines += [f"## {title}", ""] + md_table(header, rows) + [""]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def write_html(out: Path, summary: dict, plots: list, examples: list, noises: dict) -> Path:
    s = summary["search"]
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Slice benchmark</title><style>"
             "body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;margin:8px 0}"
             "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style></head><body>",
             "<h1>Slice benchmark</h1>", f"<p>{html.escape(INTRO.format(min_support=s['min_support'], drop=100 * s['min_drop']))}</p>"]
    for p in plots:
        parts.append(f"<p><img alt='{p.stem}' src='data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}'></p>")
    if examples:
        rows = [[model, sl, r["path"] + (f" + {r['noise']} {r['snr']}" if r.get("snr_db") is not None else ""), r["truth"], r["pred"],
                 f"<audio controls preload='none' src='{audio_data_uri(example_audio(r, noises))}'></audio>"] for model, sl, r in examples]
        parts += ["<h2>Misclassified clips of the worst slices</h2>", html_table(["model", "slice", "clip", "truth", "predicted", "listen"], rows)]
    for title, header, rows in sections(summary):
        parts += [f"<h2>{html.escape(title)}</h2>", html_table(header, rows)]
    parts.append("</body></html>")
    path = out / "report.html"
    path.write_text("\n".join(parts))
    return path


def write_reports(out: Path, summary: dict, results: dict, noises: dict, max_audio: int = 20) -> list:
    """All plots and both reports; returns the paths written."""
    plots = []
    if gender_int8_models(summary):
        plots.append(plot_size_vs_accuracy(summary, out / SIZE_PLOT, summary["search"]["min_support"]))
    if "commands-int8" in summary["models"]:
        plots.append(plot_noise(summary, out / NOISE_PLOT))
    examples = pick_examples(summary, results, max_audio)
    return plots + [write_markdown(out, summary, plots), write_html(out, summary, plots, examples, noises)]
