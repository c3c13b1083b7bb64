"""Serve the rag_qa chat app: `python app.py [--index DIR] [--host 127.0.0.1] [--port 7860] [--auth USER:PASSWORD]`."""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from rag_qa.config import env_index  # noqa: E402
from rag_qa.ui import serve  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", default=env_index(), help="index directory (env RAG_QA_INDEX)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind; 127.0.0.1 keeps it local")
    parser.add_argument("--port", type=int, default=int(os.environ.get("RAG_QA_PORT", "7860")))
    parser.add_argument("--auth", default=os.environ.get("RAG_QA_AUTH"), help="USER:PASSWORD to require a login")
    parser.add_argument("--rerank", default=os.environ.get("RAG_QA_RERANK"), help="cross-encoder to re-order passages")
    args = parser.parse_args()
    serve(args.index, host=args.host, port=args.port, auth=args.auth, rerank=args.rerank)


if __name__ == "__main__":
    main()
