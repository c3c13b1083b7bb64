"""Regenerate the README's examples from real runs, so that what it shows is what rag_qa prints.

    python docs/examples.py            # run every example, rewrite the README blocks and docs/screenshot.png
    python docs/examples.py --check    # run them and fail if the README shows something else

Each example runs in a fresh temporary folder holding a copy of seeds/ and, as "a folder of your own
articles", my-articles/ (the first 60 of the SaudiNewsNet articles in tests/data). In the README an example sits between
``<!-- example NAME -->`` and ``<!-- /example -->``. The check ignores what changes from run to run:
seconds, sizes, version folders and build times.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SCREENSHOT = ROOT / "docs" / "screenshot.png"
US_SIDE = "من قاد الجانب الأمريكي في الاجتماع؟"
MY_ARTICLES = 60  # enough to show a folder of one's own; few enough to encode in a minute on 2 cores
BLOCK = re.compile(r"(<!-- example (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /example -->)", re.DOTALL)
VOLATILE = [
    (re.compile(r"\d+(\.\d+)? s\b"), "… s"),
    (re.compile(r"\d+\.\d+ MB"), "… MB"),
    (re.compile(r"[\d,]+(\.\d+)? passages/s"), "… passages/s"),
    (re.compile(r" in (bf16|fp16|fp32)\)"), " in …)"),  # what the processor encodes in (precision.py)
    (re.compile(r'"(passages_per_s)": [\d.]+'), r'"\1": …'),
    (re.compile(r"v-\d{8}T\d{6}-[0-9a-f]{6}"), "v-…"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d in"), "… in"),
    (re.compile(r'"seconds": [\d.]+'), '"seconds": …'),
    (re.compile(r"\S*/(multilingual-e5-small-q4-)[0-9a-f]{12}"), r"…/\1…"),  # where the bundled weights live
    (re.compile(r"(q4-…-)[0-9a-f]{12}"), r"\1…"),  # ... and their OpenVINO conversion (openvino_engine.cache_key)
    (re.compile(r"\S*/site-packages/"), "…/site-packages/"),
]

# name → the commands of one console block (run in order, in the same folder)
CONSOLE = {
    "model": ["rag-qa model"],
    "first-build": ["rag-qa build"],
    "own-articles": [
        "rag-qa build my-articles",
        'rag-qa ask "بكم فاز ريال مدريد على ألميريا؟"',
        "rag-qa build artcles",
    ],
    "info": ["rag-qa info"],
    "ask": [f'rag-qa ask "{US_SIDE}"'],
    "ask-json": [f'rag-qa ask "{US_SIDE}" --json -k 1'],
    "weak": ['rag-qa ask "من فاز بكأس العالم 2022؟"'],
    # (before "remove": my-articles are still indexed)
    "news-scope": [
        'rag-qa ask "ما الذي كشفت عنه كوتش في مركز المملكة؟"',
        'rag-qa ask "ما الذي كشفت عنه كوتش في مركز المملكة؟" --publisher alriyadh --json -k 1',
        'rag-qa ask "who led the US side?" --article e799af32a215d137 -k 2',
        'rag-qa ask "ما الذي كشفت عنه كوتش؟" --publisher okz',
    ],
    "news-time": [
        'rag-qa ask "كم عدد القتلى في التفجير على طريق مطار كابل اليوم؟" -k 2',
        'rag-qa ask "What did the competitions committee say about the league schedule on 22 July?" -k 2',
    ],
    "remove": ["rag-qa remove my-articles"],
    "answers": [
        "rag-qa build facts.json --index news",
        'rag-qa ask --index news "ما عمق بحيرة سد وادي عتود التي يبحث فيها الغواصون؟"',
        'rag-qa ask --index news "How deep is the Wadi Atud dam lake?"',
        'rag-qa ask --index news "كم بلغت تكلفة بناء سد وادي عتود؟"',
        'rag-qa ask --index news "كم عدد زوار معرض الطوابع في قرية المفتاحة عام 2019؟"',
    ],
    "milvus": [
        "rag-qa build --store archive.milvus.db",
        f'rag-qa ask --store archive.milvus.db "{US_SIDE}"',
        "rag-qa info --store archive.milvus.db",
    ],
}
PYTHON_API = f"""from rag_qa import RagQA, build_index

summary = build_index(["seeds"], index_dir="index")
print(summary["documents"], summary.mode, summary.sources)
qa = RagQA.load("index")
answer = qa.ask("{US_SIDE}", k=5)
print(answer.mode, answer.confidence, answer.text[:60])
c = answer.citations[0]
print(c.n, c.title, c.source, c.start, c.end)
print([h.n for h in qa.search("رفح", k=3)])
"""


APP_CLIENT = f"""from gradio_client import Client

client = Client(URL, verbose=False)
result = client.predict(question="{US_SIDE}", k=3, api_name="/ask")
print(result["mode"], result["confidence"], result["answer"][:60])
for c in result["citations"]:
    print(c["n"], c["title"][:40], c["source"], c["start"], c["end"])
"""


def workspace() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="rag_qa_examples_"))
    shutil.copytree(ROOT / "seeds", folder / "seeds", ignore=shutil.ignore_patterns("uploads"))
    (folder / "my-articles").mkdir()
    articles = json.loads((ROOT / "tests" / "data" / "saudinewsnet_hard_negatives.json").read_text(encoding="utf-8"))
    (folder / "my-articles" / "news.json").write_text(json.dumps(articles[:MY_ARTICLES], ensure_ascii=False), "utf-8")
    shutil.copy(ROOT / "tests" / "data" / "saudinewsnet_facts.json", folder / "facts.json")  # five real articles
    return folder


def environment() -> dict[str, str]:
    # offline, as in the tests: no example reaches the model hub (the fallback message says HF_HUB_OFFLINE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_QA_", "HF_", "TRANSFORMERS_"))}
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if os.environ.get("RAG_QA_HOME"):  # where the bundled weights are converted (the tests' own folder)
        env["RAG_QA_HOME"] = os.environ["RAG_QA_HOME"]
    bin_dir = str(Path(sys.executable).parent)
    path = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return {**env, "PATH": path, "COLUMNS": "120", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def console(folder: Path, commands: list[str]) -> str:
    """The commands as typed at a prompt, each followed by what it printed (stdout and stderr)."""
    shown = []
    for command in commands:
        done = subprocess.run(  # stderr merged into stdout: the order a terminal shows
            command, shell=True, cwd=folder, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=300,
        )  # fmt: skip
        output = done.stdout.rstrip()
        shown.append(f"$ {command}\n{output}")
    return "```console\n" + "\n\n".join(shown) + "\n```\n"


def python_block(folder: Path, code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=folder, env=environment(), capture_output=True, text=True, timeout=300
    )
    if done.returncode:
        raise SystemExit(f"the Python example failed:\n{done.stderr}")
    return f"```python\n{code}```\n\nprints\n\n```text\n{done.stdout.rstrip()}\n```\n"


@contextlib.contextmanager
def running_app(folder: Path) -> Iterator[str]:
    """`python app.py` serving ``folder``/index on a free loopback port, in the examples' environment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, str(ROOT / "app.py"), "--index", "index", "--port", str(port)]
    app = subprocess.Popen(command, cwd=folder, env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if app.poll() is not None or time.time() > deadline:
                    raise SystemExit("the app did not start") from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.terminate()
        app.wait(timeout=30)


def app_client_block(folder: Path) -> str:
    """The running app's /ask endpoint through gradio_client (the app serves the workspace's index)."""
    subprocess.run("rag-qa build", shell=True, cwd=folder, env=environment(), check=True, capture_output=True)
    with running_app(folder) as url:
        done = subprocess.run(
            [sys.executable, "-c", f"URL = {url!r}\n" + APP_CLIENT], cwd=folder, env=environment(),
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"the app example failed:\n{done.stderr}")
    code = APP_CLIENT.replace("URL", '"http://127.0.0.1:7860/"', 1)
    return f"```python\n{code}```\n\nprints\n\n```text\n{done.stdout.rstrip()}\n```\n"


def generate() -> dict[str, str]:
    """Every example's block, from one workspace (each example sees the state the one before left)."""
    folder = workspace()
    try:
        # the README shows a machine where a first build has converted the bundled weights already, whatever
        # state the converter's folder is in (the tests' is empty until a test converts into it)
        prepare = ["rag-qa", "model", "--prepare"]
        subprocess.run(prepare, cwd=folder, env=environment(), capture_output=True, check=True)
        blocks = {name: console(folder, commands) for name, commands in CONSOLE.items()}
        blocks["app-client"] = app_client_block(folder)
        api = workspace()
        try:
            blocks["python-api"] = python_block(api, PYTHON_API)
        finally:
            shutil.rmtree(api)
        return blocks
    finally:
        shutil.rmtree(folder)


def rewrite(text: str, blocks: dict[str, str], missing: Callable[[str], None]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in blocks:
            missing(name)
            return match[0]
        return match[1] + blocks[name] + match[4]

    return BLOCK.sub(replace, text)


def masked(text: str) -> str:
    for pattern, stand_in in VOLATILE:
        text = pattern.sub(stand_in, text)
    return text


def take_screenshot() -> None:
    """The chat answering the seed question, on an index of seeds/ and my-articles/ (needs Chromium)."""
    from playwright.sync_api import sync_playwright

    folder = workspace()
    try:
        env = environment()
        for command in ("rag-qa build", "rag-qa build my-articles"):
            subprocess.run(command, shell=True, cwd=folder, env=env, check=True, capture_output=True)
        with running_app(folder) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--disable-gpu"])
            page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
            page.goto(url)
            page.fill("#question textarea", US_SIDE)
            page.click("#ask")
            page.wait_for_function("() => document.querySelector('#chat').innerText.includes('mode:')")
            page.wait_for_timeout(500)
            page.screenshot(path=str(SCREENSHOT))
            browser.close()
    finally:
        shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when the README differs from a fresh run")
    args = parser.parse_args()
    unknown: list[str] = []
    current = README.read_text(encoding="utf-8")
    fresh = rewrite(current, generate(), unknown.append)
    if unknown:
        raise SystemExit(f"README examples with no generator: {', '.join(unknown)}")
    if args.check:
        if masked(fresh) != masked(current):
            diff = difflib.unified_diff(masked(current).splitlines(), masked(fresh).splitlines(), lineterm="", n=1)
            raise SystemExit("The README's examples are stale; run `python docs/examples.py`.\n" + "\n".join(diff))
        print("README examples match a fresh run.")
        return
    README.write_text(fresh, encoding="utf-8")
    take_screenshot()
    print(f"rewrote {len(BLOCK.findall(fresh))} examples in {README.name} and {SCREENSHOT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
