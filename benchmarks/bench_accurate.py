"""Benchmark the accurate tier's inference against plain `Detoxify.predict`, in one run.

Two Detoxify-format checkpoints, both loaded by Detoxify itself:
  - bert-base: `BertConfig()` default size (110M parameters), random weights (speed only), MiniLM's tokenizer,
    max 512 tokens, built in a temporary folder;
  - ours: the shipped accurate model (MiniLM + merged deltas), max 128 tokens.
Two ways to score the same realistic comments (dev texts of every file, mixed lengths, drawn at random):
  - plain: `Detoxify.predict` on consecutive batches of --batch-size texts, as the library documents;
  - ours: SequenceClassifierRunner (character cap, length-sorted batches, inference mode).
Each (model, method) runs in a fresh process: comments/s over the texts after a warm-up, and peak RSS
while scoring (sampled every 5 ms), also shown above the RSS with the model loaded.

    python benchmarks/bench_accurate.py [--threads 0] [--base-comments 256] [--ours-comments 512]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from moderation.training.data import dev_texts

ROOT = Path(__file__).resolve().parents[1]
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def sample_texts(data_dir: Path, count: int, seed: int) -> list[str]:
    return random.Random(seed).sample(dev_texts(data_dir), count)


def build_bert_base(folder: Path) -> Path:
    """A default-size BERT with random weights, saved as a Detoxify checkpoint with a config/tokenizer folder."""
    import torch
    import transformers

    from moderation.scoring.accurate_artifact import base_model_dir

    classes = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
    for name in TOKENIZER_FILES:
        shutil.copy(base_model_dir() / name, folder / name)
    config = transformers.BertConfig(num_labels=len(classes))
    config.save_pretrained(folder)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config)
    arch = {
        "model_type": str(folder),
        "model_name": "BertForSequenceClassification",
        "tokenizer_name": "BertTokenizer",
        "num_classes": len(classes),
    }
    path = folder / "bert-base-random.ckpt"
    torch.save(
        {
            "config": {"arch": {"args": arch}, "dataset": {"args": {"classes": classes}}},
            "state_dict": model.state_dict(),
        },
        path,
    )
    return path


def child(checkpoint: str, folder: str, method: str, texts_path: str, threads: int, batch_size: int) -> None:
    """Load through Detoxify, score the texts one way, print seconds, memory and the scores as JSON."""
    import numpy as np
    import torch
    from detoxify import Detoxify

    from moderation.scoring.inference import SequenceClassifierRunner, use_threads

    use_threads(threads)
    texts = json.loads(Path(texts_path).read_text(encoding="utf-8"))
    detoxify = Detoxify(model_type=folder, checkpoint=checkpoint, huggingface_config_path=folder)
    runner = SequenceClassifierRunner(detoxify.model, detoxify.tokenizer, batch_size=batch_size)

    def plain(batch: list[str]) -> np.ndarray:
        out = []
        for start in range(0, len(batch), batch_size):
            predicted = detoxify.predict(batch[start : start + batch_size])
            out.append(
                np.array([predicted[c] for c in detoxify.class_names], dtype=np.float32).reshape(len(predicted), -1).T
            )
        return np.concatenate(out)

    score = plain if method == "plain" else runner.predict
    score(texts[:4])
    loaded = _rss_mb()
    peak = [loaded]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _rss_mb())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    scores = score(texts)
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    result = {
        "seconds": seconds,
        "peak_rss_mb": max(peak[0], _rss_mb()),
        "loaded_rss_mb": loaded,
        "threads": torch.get_num_threads(),
        "scores": np.asarray(scores).round(6).tolist(),
    }
    print(json.dumps(result))


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--threads", type=int, default=0, help="torch threads in every child (0: available cores)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--base-comments", type=int, default=256, help="comments scored with bert-base")
    parser.add_argument("--ours-comments", type=int, default=512, help="comments scored with our model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench-accurate.json")
    parser.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        checkpoint, folder, method, texts, threads, batch = args.child
        child(checkpoint, folder, method, texts, int(threads), int(batch))
        return

    import numpy as np

    from moderation.scoring.accurate_artifact import detoxify_checkpoint, read_artifact
    from moderation.scoring.inference import available_cores

    threads = args.threads or available_cores()
    rows, speedup, agreement = [], {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-accurate-") as tmp:
        folder = Path(tmp) / "bert-base"
        folder.mkdir()
        models = {
            "bert-base (random weights, 512 tokens)": (build_bert_base(folder), folder, args.base_comments),
            "ours (MiniLM + deltas, 128 tokens)": (
                *detoxify_checkpoint(read_artifact(), Path(tmp) / "cache"),
                args.ours_comments,
            ),
        }
        for model, (checkpoint, model_folder, count) in models.items():
            texts = sample_texts(args.data, count, args.seed)
            texts_path = Path(tmp) / f"texts-{count}.json"
            texts_path.write_text(json.dumps(texts), encoding="utf-8")
            results = {}
            for method in ("plain", "ours"):
                command = [
                    sys.executable,
                    __file__,
                    "--child",
                    str(checkpoint),
                    str(model_folder),
                    method,
                    str(texts_path),
                    str(threads),
                    str(args.batch_size),
                ]
                done = subprocess.run(command, capture_output=True, text=True, check=True, env=_env())
                results[method] = json.loads(done.stdout.strip().splitlines()[-1])
                r = results[method]
                rows.append(
                    {
                        "model": model,
                        "method": "plain Detoxify.predict" if method == "plain" else "ours (sorted, capped)",
                        "comments": count,
                        "seconds": r["seconds"],
                        "per_second": count / r["seconds"],
                        "peak_rss_mb": r["peak_rss_mb"],
                        "working_mb": r["peak_rss_mb"] - r["loaded_rss_mb"],
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
            speedup[model] = results["plain"]["seconds"] / results["ours"]["seconds"]
            agreement[model] = float(
                np.abs(np.array(results["plain"]["scores"]) - np.array(results["ours"]["scores"])).max()
            )
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end",
        "threads": threads,
        "batch_size": args.batch_size,
        "texts_note": f"dev texts of all five files drawn at random (seed {args.seed}), batch size {args.batch_size}",
        "rows": rows,
        "speedup": speedup,
        "max_abs_difference_plain_vs_ours": agreement,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"speedup": speedup, "max_abs_difference_plain_vs_ours": agreement}))


def _env() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


if __name__ == "__main__":
    main()
