"""Encoding through OpenVINO: the same model and vectors as sentence-transformers, faster on a CPU.

On this project's 2-core CPU (AVX512-BF16), the bundled e5 encoded a build's 1,772 passages and sentences
in 30.6 s with OpenVINO in bf16, against 42.9 s with torch under bf16 autocast and 77.6 s in torch fp32,
with a cosine of at least 0.99998 to the fp32 vectors (docs/measurements.md, "Fast builds"). OpenVINO
fuses attention, which torch ran at fp32 speed, and it needs neither torch nor sentence-transformers
once a model is converted: loading the bundled e5 took 1.2 s instead of 6.5 s.

A model is converted once, from the loaded sentence-transformers model itself, into rag_qa's cache
(``RAG_QA_HOME``/openvino/<key>, the key from the model folder's files and the OpenVINO version). The
conversion keeps what sentence-transformers would do — its tokenizer, input window, pooling and prompts
— and is kept only when its vectors agree with sentence-transformers' on CHECK_TEXTS (cosine ≥
MIN_AGREEMENT). Models other than Transformer → mean or CLS Pooling → (Normalize) stay on torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .bundled import CHECK_TEXTS, home
from .config import NOTICE_LOGGER
from .embedder import PromptStyle, describe_embedder, first_line, prompt_style, quiet_transformers
from .precision import choose_precision

ENGINES = ("auto", "openvino", "torch")
FORMAT = 1  # of the converted folder's record
RECORD = "rag_qa_openvino.json"
FILES = ("model.xml", "model.bin", "tokenizer.json")  # a usable conversion's files, besides RECORD
MIN_AGREEMENT = 0.9999  # cosine with sentence-transformers' fp32 vectors on every check text
# texts per inference, sorted by token count (the least padding): 8, 16 and 32 ran within 5 % of each other
BATCH = 16
HINTS = {"fp32": "f32", "bf16": "bf16"}
X86 = ("x86_64", "amd64")  # platform.machine() of the CPUs "auto" runs OpenVINO on
LONG_CHECK = " ".join(CHECK_TEXTS * 40)  # beyond any model's window: truncation must match too


class Unsupported(Exception):
    """The model cannot run on OpenVINO here; it runs on torch instead."""


def engine_setting() -> str:
    """``RAG_QA_ENGINE``: auto (OpenVINO on an x86 CPU without a GPU, when installed), openvino, torch."""
    return os.environ.get("RAG_QA_ENGINE", "auto").strip().lower() or "auto"


def wanted(setting: str) -> bool:
    """Whether to try OpenVINO for ``setting`` on this machine (a GPU and Apple's chips stay on torch)."""
    if setting == "torch":
        return False
    if setting == "auto" and (gpu_present() or platform.machine().lower() not in X86):
        return False
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def gpu_present() -> bool:
    """An NVIDIA (driver or nvidia-smi, as under WSL) or ROCm GPU that torch would run the model on."""
    return any(Path(p).exists() for p in ("/proc/driver/nvidia", "/dev/kfd")) or bool(shutil.which("nvidia-smi"))


class OpenVinoEmbedder:
    """A sentence-transformers model converted to OpenVINO: passages in the precision ``precision``
    settles to (bf16 on a CPU with native bf16), questions in fp32; L2-normalised float32 vectors."""

    device = "cpu"

    def __init__(self, name: str, folder: Path, record: dict[str, Any], batch_size: int, precision: str) -> None:
        from tokenizers import Tokenizer

        self.name = name
        self.folder = folder
        self.batch_size = batch_size
        self.dimension = int(record["dimension"])
        self.max_seq_length = int(record["max_seq_length"])
        self.pooling = str(record["pooling"])
        self.inputs = list(record["inputs"])
        self.style: PromptStyle = prompt_style(name, record["prompts"])
        self.precision_setting = precision
        self.precision = choose_precision(precision, "cpu")
        text = (folder / "tokenizer.json").read_text(encoding="utf-8")
        self._tokenizer = Tokenizer.from_str(text)  # parsed once (0.5 s for e5's): it counts and encodes
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        processor = self._tokenizer.post_processor
        self._text_tokens = self.max_seq_length - (processor.num_special_tokens_to_add(False) if processor else 0)
        self._pad_id = int(record["pad_id"])
        self.threads = 0  # CPU threads of an inference (0: OpenVINO's choice, every core); a Ray actor sets its own
        self._compiled: dict[str, Any] = {}
        self._lock = threading.Lock()  # one inference at a time: OpenVINO already uses every core

    def describe(self) -> dict[str, Any]:
        return describe_embedder(self) | self.precision.describe() | {"engine": "openvino"}

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.style.document, self.precision.name)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.style.query, "fp32")

    def _model(self, precision: str) -> Any:
        if precision not in self._compiled:
            import openvino as ov

            config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": HINTS[precision], "PERFORMANCE_HINT": "LATENCY"}
            if self.threads:
                config["INFERENCE_NUM_THREADS"] = self.threads
            self._compiled[precision] = ov.Core().compile_model(self.folder / "model.xml", "CPU", config)
        return self._compiled[precision]

    def _encode(self, texts: list[str], prompt: str, precision: str) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return vectors
        with self._lock:
            model = self._model(precision)
            request = model.create_infer_request()
            encoded = self._tokenizer.encode_batch([prompt + t for t in texts], add_special_tokens=False)
            ids = [self._model_ids(e) for e in encoded]
            order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                width = max(len(ids[i]) for i in rows)
                input_ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
                mask = np.zeros((len(rows), width), dtype=np.int64)
                for row, i in enumerate(rows):
                    input_ids[row, : len(ids[i])] = ids[i]
                    mask[row, : len(ids[i])] = 1
                feed = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(mask)}
                states = request.infer({name: feed[name] for name in self.inputs})[model.outputs[0]]
                vectors[rows] = pool(states, mask, self.pooling)
        return vectors


    def _model_ids(self, encoding: Any) -> list[int]:
        """The text's tokens cut to the window, then the special tokens, as the tokenizer's own truncation does."""
        encoding.truncate(self._text_tokens)
        return list(self._tokenizer.post_process(encoding).ids)


def pool(states: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    """Sentence vectors from token states as sentence-transformers' Pooling does, L2-normalised."""
    if mode == "cls":
        pooled = states[:, 0].astype(np.float32)
    else:
        weights = mask[..., None].astype(np.float32)
        pooled = (states * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def load(name: str, location: Path, batch_size: int, precision: str) -> OpenVinoEmbedder:
    """``name`` from its local folder ``location``, converted on first use. Raises Unsupported."""
    folder = home() / "openvino" / cache_key(location)
    record = _read_record(folder)
    try:
        if record is not None and record.get("usable") and not all((folder / f).is_file() for f in FILES):
            shutil.rmtree(folder)  # a damaged conversion: made again
            record = None
        if record is None:
            record = _convert_into(location, folder)
    except OSError as exc:
        raise Unsupported(f"cannot write the converted model under {folder.parent}: {exc}") from None
    if not record.get("usable"):
        raise Unsupported(str(record.get("why", "not convertible")))
    return OpenVinoEmbedder(name, folder, record, min(batch_size, BATCH), precision)


def engine_for(location: Path | None, prepare: bool = False) -> dict[str, Any]:
    """What runs the model in ``location`` here (``rag-qa model``): OpenVINO with its converted folder,
    or torch and why; ``prepare`` converts it now when it is not yet."""
    setting = engine_setting()
    if location is None or setting not in ENGINES or not wanted(setting):
        why = "RAG_QA_ENGINE=torch" if setting == "torch" else "a GPU or a non-x86 CPU here, or no OpenVINO"
        return {"engine": "torch", "why": "no local model yet" if location is None else why}
    folder = home() / "openvino" / cache_key(location)
    if prepare:
        try:
            load(location.name, location, BATCH, "fp32")
        except Unsupported as why:
            return {"engine": "torch", "why": str(why)}
    record = _read_record(folder)
    if record is None:
        return {"engine": "openvino", "folder": None, "why": "converted on the first build"}
    if not record.get("usable"):
        return {"engine": "torch", "why": str(record.get("why"))}
    return {"engine": "openvino", "folder": str(folder), "agreement": record["agreement"]}


def cache_key(location: Path) -> str:
    """The model folder's files (names, sizes, modification times), this format and OpenVINO's version."""
    import openvino as ov

    digest = hashlib.sha256(f"{location.resolve()}|{FORMAT}|{ov.get_version()}".encode())
    for path in sorted(p for p in location.resolve().rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(location.resolve())}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return f"{location.resolve().name[:40]}-{digest.hexdigest()[:12]}"


def _read_record(folder: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("format") == FORMAT else None


def _convert_into(location: Path, folder: Path) -> dict[str, Any]:
    """Convert the sentence-transformers model in ``location`` into ``folder`` (written beside it and
    renamed when complete); the record says whether it is usable, and why not."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".converting-", dir=folder.parent))
    try:
        try:
            record = _convert(location, work)
        except Unsupported as why:
            record = {"format": FORMAT, "usable": False, "why": str(why)}
        (work / RECORD).write_text(json.dumps(record, indent=1), encoding="utf-8")
        try:
            work.rename(folder)
        except OSError:  # another process converted it first
            pass
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return _read_record(folder) or record


def _convert(location: Path, work: Path) -> dict[str, Any]:
    import openvino as ov
    import torch
    from sentence_transformers import SentenceTransformer

    quiet_transformers()
    try:
        model: Any = SentenceTransformer(str(location), local_files_only=True, device="cpu")
    except Exception as exc:  # torch/transformers raise many kinds; the torch engine gives the sentence
        raise Unsupported(f"cannot load: {first_line(exc)}") from None
    kinds = [type(module).__name__ for module in model]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise Unsupported(f"modules {kinds}")
    pooling = model[1].get_config_dict()
    mode = pooling.get("pooling_mode") or ("cls" if pooling.get("pooling_mode_cls_token") else "mean")
    if mode not in ("mean", "cls") or not pooling.get("include_prompt", True):
        raise Unsupported(f"pooling {pooling}")
    tokenizer = model.tokenizer
    backend, pad_id = getattr(tokenizer, "backend_tokenizer", None), tokenizer.pad_token_id
    if backend is None or pad_id is None:
        raise Unsupported("no fast tokenizer with a padding token")
    example = tokenizer(["a b", "c"], padding=True, return_tensors="pt")
    inputs = [key for key in ("input_ids", "attention_mask", "token_type_ids") if key in example]
    logging.getLogger(NOTICE_LOGGER).info("Converting the model for OpenVINO on this machine, once (about 20 s)…")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on the model's Python code
            network = model[0].auto_model.train(False)
            converted = ov.convert_model(network, example_input={k: example[k] for k in inputs})
        ov.save_model(converted, work / "model.xml", compress_to_fp16=False)
    except Exception as exc:  # the converter raises many kinds; all mean "stay on torch"
        raise Unsupported(f"conversion failed: {first_line(exc)}") from None
    (work / "tokenizer.json").write_text(backend.to_str(), encoding="utf-8")
    record: dict[str, Any] = {
        "format": FORMAT,
        "usable": True,
        "source": str(location.resolve()),
        "dimension": int(model.get_embedding_dimension()),
        "max_seq_length": int(model.max_seq_length or 512),
        "pooling": mode,
        "inputs": inputs,
        "pad_id": int(pad_id),
        "prompts": dict(getattr(model, "prompts", None) or {}),
    }
    record["agreement"] = _agreement(model, work, record)
    if record["agreement"] < MIN_AGREEMENT:
        raise Unsupported(f"vectors differ from sentence-transformers' (cosine {record['agreement']:.5f})")
    return record


def _agreement(model: Any, work: Path, record: dict[str, Any]) -> float:
    """The lowest cosine between sentence-transformers' and the converted model's fp32 vectors."""
    texts = [*CHECK_TEXTS, LONG_CHECK]
    converted = OpenVinoEmbedder("check", work, record, BATCH, "fp32")
    lowest = 1.0
    for prompt in {"", *record["prompts"].values()}:
        expected = model.encode(texts, prompt=prompt or None, normalize_embeddings=True, convert_to_numpy=True)
        got = converted._encode(texts, prompt, "fp32")
        lowest = min(lowest, float(np.min(np.sum(expected * got, axis=1))))
    return round(lowest, 6)
