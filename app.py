"""Serve the rag_qa chat app: `python app.py [--index DIR] [--host 127.0.0.1] [--port 7860] [--auth USER:PASSWORD]`.

The same command as `rag-qa serve` (same flags, environment variables and error messages).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from rag_qa.cli import cli  # noqa: E402

if __name__ == "__main__":
    cli(["serve", *sys.argv[1:]], prog_name="python app.py")
