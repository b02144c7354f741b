"""Int8 dynamic quantization of the accurate tier, against its fp32 runtimes: speed and decisions.

The accurate model is loaded through Detoxify (AccurateScorer, runtime torch), then transformed after load:
- torch fp32: as loaded;
- torch int8: torch.ao.quantization.quantize_dynamic on its Linear layers;
- onnx fp32: the export `scoring.accurate.runtime = "onnx"` runs (onnx_runner.py);
- onnx int8: the int8 copy of that export the scorer `accurate:int8` runs (onnx_runner.quantize_onnx: QInt8
  weights per output channel, only products with a weight operand).
Each scores the same natural dev comments (every k-th of the natural-prevalence dev files) on one thread,
interleaved, median of --repeat; decisions are the calibrated scores at policy.thresholds, compared with torch
fp32's (share of its flags kept, extra flags).

    python benchmarks/bench_quantized.py [--comments 400] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from moderation.config import AccurateSettings, load_settings
from moderation.scoring.accurate import AccurateScorer
from moderation.training.cascade_bands import NATURAL_FAMILIES
from moderation.training.data import dev_texts

ROOT = Path(__file__).resolve().parents[1]
Predict = Callable[[list[str]], npt.NDArray[np.float32]]


def runners(scorer: AccurateScorer, folder: Path) -> dict[str, Predict]:
    import torch

    from moderation.scoring.onnx_runner import INT8_ONNX_NAME, ONNX_NAME, OnnxClassifierRunner, quantize_onnx

    torch_runner = scorer.engine.runner
    fp32_model = torch_runner.model  # type: ignore[attr-defined]
    int8_model = torch.ao.quantization.quantize_dynamic(fp32_model, {torch.nn.Linear}, dtype=torch.qint8)
    exported = scorer.checkpoint.parent / ONNX_NAME
    quantized = folder / INT8_ONNX_NAME
    tokenizer = scorer.checkpoint.parent / "tokenizer.json"
    quantize_onnx(exported, tokenizer, quantized)
    max_length = torch_runner.max_length  # type: ignore[attr-defined]

    def on_torch(model: object) -> Predict:
        def predict(texts: list[str]) -> npt.NDArray[np.float32]:
            torch_runner.model = model  # type: ignore[attr-defined]
            return torch_runner.predict(texts)

        return predict

    return {
        "torch fp32": on_torch(fp32_model),
        "torch int8": on_torch(int8_model),
        "onnx fp32": OnnxClassifierRunner(exported, tokenizer, max_length, threads=1).predict,
        "onnx int8": OnnxClassifierRunner(quantized, tokenizer, max_length, threads=1).predict,
    }


def flags(
    scorer: AccurateScorer, outputs: npt.NDArray[np.float32], texts: list[str], thresholds: dict[str, float]
) -> np.ndarray:
    calibrated = scorer.calibrate_outputs(outputs.astype(np.float64), texts)
    columns = [k for k, name in enumerate(scorer.engine.outputs) if name in thresholds]
    limits = np.array([thresholds[scorer.engine.outputs[k]] for k in columns])
    return calibrated[:, columns] >= limits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--comments", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench-quantized.json")
    args = parser.parse_args()

    texts = dev_texts(args.data, NATURAL_FAMILIES)
    texts = texts[:: max(1, len(texts) // args.comments)][: args.comments]
    thresholds = dict(load_settings(None).policy.thresholds)
    scorer = AccurateScorer(AccurateSettings(runtime="torch", device="cpu", threads=1))
    AccurateScorer(AccurateSettings(runtime="onnx", threads=1))  # makes the export if this cache lacks it
    with tempfile.TemporaryDirectory(prefix="bench-quantized-") as tmp:
        predicts = runners(scorer, Path(tmp))
        times: dict[str, list[float]] = {name: [] for name in predicts}
        outputs = {}
        for _ in range(args.repeat):
            for name, predict in predicts.items():
                started = time.perf_counter()
                outputs[name] = predict(texts)
                times[name].append(time.perf_counter() - started)
                print(f"{name}: {times[name][-1]:.1f} s", flush=True)
    reference = flags(scorer, outputs["torch fp32"], texts, thresholds)
    base = statistics.median(times["torch fp32"])
    rows = []
    for name in predicts:
        made = flags(scorer, outputs[name], texts, thresholds)
        seconds = statistics.median(times[name])
        rows.append(
            {
                "runtime": name,
                "seconds": round(seconds, 2),
                "speed_vs_torch_fp32": round(base / seconds, 2),
                "runs": [round(t, 2) for t in times[name]],
                "max_abs_difference": float(np.abs(outputs[name] - outputs["torch fp32"]).max()),
                "flags_kept": round(float((made & reference).sum() / reference.sum()), 4),
                "extra_flags": round(float((made & ~reference).sum() / reference.sum()), 4),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    report = {"comments": len(texts), "fp32_flags": int(reference.sum()), "threads": 1, "rows": rows}
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
