"""The layout of a Milvus index (see milvus.py): its client, collection names, JSON blobs in the meta
collection, and the current version's pointer; shared by its reader, writer and upkeep."""


from __future__ import annotations

import json
import os
import threading
from contextlib import AbstractContextManager, nullcontext
from functools import cached_property
from pathlib import Path
from typing import Any

from ..errors import IndexCorrupt, IndexMissing, StoreUnavailable
from .manifest import REBUILD_HINT, Manifest, TrackedFile

BLOB_PART = 15_000  # characters of a JSON blob per row (VARCHAR holds 65,535 bytes)
MAX_SENTENCES = 1024  # sentence row id = chunk id · MAX_SENTENCES + its position
REWEIGHT_DRIFT = 0.02  # re-weight every chunk when the average length moves by more than this share
TEXT_BYTES = 65_535
_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _client(uri: str, location: str) -> Any:
    """One client per Milvus (Milvus Lite lets one process open its file)."""
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # read when gRPC loads: no notices on the terminal
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise StoreUnavailable(
            f"The store {location} needs Milvus's client: pip install 'rag_qa[scale]' (pymilvus, milvus-lite)."
        ) from None
    with _clients_lock:
        if uri not in _clients:
            try:
                # Milvus Lite's local server refuses the client's 10 s keepalive pings ("too_many_pings")
                lite = {"grpc.keepalive_time_ms": 2**31 - 1, "grpc.keepalive_permit_without_calls": False}
                options = {} if location.startswith("milvus://") else {"grpc_options": lite}
                _clients[uri] = MilvusClient(uri=uri, **options)
            except Exception as exc:  # pymilvus raises its own and grpc's errors
                reason = str(getattr(exc, "message", "") or exc or type(exc).__name__).splitlines()[0][:200]
                if location.startswith("milvus://"):
                    raise StoreUnavailable(f"No Milvus server answers at {location}: {reason}.") from None
                raise StoreUnavailable(
                    f"The Milvus Lite file {location} cannot be opened ({reason}); one process at a time can open it."
                ) from None
        return _clients[uri]


class MilvusConnection:
    """A Milvus index's client, collection names and JSON blobs (the Store methods that need no writer)."""

    def __init__(self, location: str) -> None:
        self.location = location
        if location.startswith("milvus://"):
            address, _, name = location.removeprefix("milvus://").partition("/")
            self.uri, self.lite_file = f"http://{address}", None
            self.name = name.strip("/") or "rag_qa"
        else:
            self.lite_file = Path(location).expanduser().resolve()
            self.uri, self.name = str(self.lite_file), "rag_qa"
        self._loaded: set[str] = set()
        if not self.name.replace("_", "").isalnum():
            raise StoreUnavailable(f"{location}: a Milvus index name has only letters, digits and _.")

    def __str__(self) -> str:
        return self.location

    @cached_property
    def client(self) -> Any:
        if self.lite_file is not None:
            self.lite_file.parent.mkdir(parents=True, exist_ok=True)
        return _client(self.uri, self.location)

    def release(self, drop: bool = False) -> None:
        """Close this process's client (``drop``: first delete every collection of this index)."""
        with _clients_lock:
            client = _clients.pop(self.uri, None)
        if client is None:
            return
        if drop:
            for name in client.list_collections():
                if name.startswith(f"{self.name}_"):
                    client.drop_collection(name)
        client.close()

    def load(self, name: str) -> None:
        """Make a collection searchable in this process (Milvus releases them between processes)."""
        if name not in self._loaded:
            self.client.load_collection(name)
            self._loaded.add(name)

    def load_generation(self, generation: int) -> None:
        for part in ("chunks", "sentences", "terms", "documents"):
            if self.client.has_collection(self.collection(generation, part)):
                self.load(self.collection(generation, part))

    def collection(self, generation: int, part: str) -> str:
        return f"{self.name}_g{generation}_{part}"

    @property
    def meta(self) -> str:
        return f"{self.name}_meta"

    # ------------------------------------------------------------ blobs (JSON in the meta collection)

    def read_blob(self, key: str) -> Any:
        """The JSON stored under ``key``, or None."""
        if not self.client.has_collection(self.meta):
            return None
        self.load(self.meta)
        first = self.client.get(self.meta, ids=[f"{key}#0"], output_fields=["data", "parts"])
        if not first:
            return None
        rest = [f"{key}#{i}" for i in range(1, int(first[0]["parts"]))]
        found = self.client.get(self.meta, ids=rest, output_fields=["data"]) if rest else []
        rows = {r["key"]: r["data"] for r in found}
        try:
            return json.loads(first[0]["data"] + "".join(rows[k] for k in rest))
        except (KeyError, json.JSONDecodeError):
            raise IndexCorrupt(f"The Milvus index {self.location} has a damaged {key}. {REBUILD_HINT}") from None

    def write_blob(self, key: str, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False)
        parts = [text[i : i + BLOB_PART] for i in range(0, len(text), BLOB_PART)] or [""]
        rows = [{"key": f"{key}#{i}", "data": p, "parts": len(parts), "marker": {0: 1.0}} for i, p in enumerate(parts)]
        for start in range(len(rows) - 1, -1, -64):  # part 0 last: a reader sees the whole blob or the old one
            self.client.upsert(self.meta, rows[max(0, start - 63) : start + 1][::-1])

    def delete_blob(self, key: str) -> None:
        if self.client.has_collection(self.meta):
            self.client.delete(self.meta, filter=f'key like "{key}#%"')

    def current(self) -> dict[str, int] | None:
        """The generation and build readers use, or None for a store without an index."""
        if self.lite_file is not None and not self.lite_file.exists():
            return None
        pointer = self.read_blob("current")
        return {"generation": int(pointer["generation"]), "build": int(pointer["build"])} if pointer else None

    # ------------------------------------------------------------ Store

    def current_manifest(self) -> Manifest:
        pointer = self.current()
        if pointer is None:
            raise IndexMissing(f"No index in {self.location}: build one with `rag-qa build --store {self.location}`.")
        text = self.read_blob(version_key(pointer, "manifest"))
        if text is None:
            raise IndexCorrupt(f"The Milvus index {self.location} lacks its manifest. {REBUILD_HINT}")
        return Manifest.parse(json.dumps(text, ensure_ascii=False), self.location)

    def build_state(self, previous: Manifest | None) -> tuple[dict[str, str], dict[str, TrackedFile]]:
        if previous is None:
            return {}, {}
        from ..records import SourceFile

        pointer = version_of(previous)
        articles = self.read_blob(version_key(pointer, "documents")) or {}
        listed = self.read_blob(version_key(pointer, "sources")) or []
        files = {row[0]: (SourceFile(*row[:3]), list(row[3]), list(row[4])) for row in listed}
        return {doc_id: entry[0] for doc_id, entry in articles.items()}, files

    def build_lock(self, timeout: float) -> AbstractContextManager[Any]:
        if self.lite_file is None:  # a server: one build at a time is the operator's rule (docs/scale.md)
            return nullcontext()
        from filelock import FileLock

        self.lite_file.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(f"{self.lite_file}.lock", timeout=timeout)


def version_key(pointer: dict[str, int], what: str) -> str:
    return f"g{pointer['generation']}b{pointer['build']}:{what}"


def version_of(manifest: Manifest) -> dict[str, int]:
    store = manifest.store or {}
    try:
        return {"generation": int(store["generation"]), "build": int(store["build"])}
    except (KeyError, TypeError, ValueError):
        message = f"The manifest of {manifest.version_dir} does not name its Milvus version. {REBUILD_HINT}"
        raise IndexCorrupt(message) from None
