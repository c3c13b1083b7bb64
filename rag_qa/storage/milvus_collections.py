"""The collections of a Milvus index (see milvus.py) and their upkeep: creating a generation's, undoing
a build that crashed before its switch, and finishing the deletions of one that switched."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..textnorm import char_grams
from .lexical import MAX_COUNT
from .milvus_layout import TEXT_BYTES, MilvusConnection, version_key

BATCH = 512  # rows per insert, get or delete


def create_collections(store: MilvusConnection, generation: int, dimension: int | None) -> None:
    from pymilvus import DataType

    client = store.client

    def create(name: str, fields: list[tuple[str, Any, dict[str, Any]]], indexes: dict[str, dict[str, Any]]) -> None:
        if client.has_collection(name):
            client.drop_collection(name)
        schema = client.create_schema(auto_id=False)
        for field, kind, options in fields:
            schema.add_field(field, kind, **options)
        params = client.prepare_index_params()
        for field, options in indexes.items():
            params.add_index(field, **options)
        client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")
        store.load(name)

    sparse = {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "IP"}
    text = {"max_length": TEXT_BYTES}
    chunk_fields: list[tuple[str, Any, dict[str, Any]]] = [
        ("id", DataType.INT64, {"is_primary": True}), ("build", DataType.INT64, {}),
        ("doc_id", DataType.VARCHAR, {"max_length": 4096}), ("ordinal", DataType.INT64, {}),
        ("start", DataType.INT64, {}), ("end", DataType.INT64, {}), ("length", DataType.INT64, {}),
        ("sentences", DataType.INT64, {}), ("text", DataType.VARCHAR, text), ("terms", DataType.VARCHAR, text),
        ("embed_hash", DataType.VARCHAR, {"max_length": 64}), ("title", DataType.VARCHAR, text),
        ("source", DataType.VARCHAR, text), ("date", DataType.VARCHAR, {"max_length": 256}),
        ("sparse", DataType.SPARSE_FLOAT_VECTOR, {}),
    ]  # fmt: skip
    chunk_indexes = {"sparse": sparse}
    if dimension is not None:
        chunk_fields.append(("dense", DataType.FLOAT_VECTOR, {"dim": dimension}))
        chunk_indexes["dense"] = {"index_type": "FLAT", "metric_type": "IP"}
        create(
            store.collection(generation, "sentences"),
            [("id", DataType.INT64, {"is_primary": True}), ("build", DataType.INT64, {}),
             ("start", DataType.INT64, {}), ("end", DataType.INT64, {}),
             ("vector", DataType.FLOAT_VECTOR, {"dim": dimension})],
            {"vector": {"index_type": "FLAT", "metric_type": "IP"}},
        )  # fmt: skip
    create(store.collection(generation, "chunks"), chunk_fields, chunk_indexes)
    marker: tuple[str, Any, dict[str, Any]] = ("marker", DataType.SPARSE_FLOAT_VECTOR, {})
    create(
        store.collection(generation, "terms"),
        [("key", DataType.VARCHAR, {"is_primary": True, "max_length": 1024}), ("dim", DataType.INT64, {}),
         ("df", DataType.INT64, {}), ("before", DataType.INT64, {}), ("build", DataType.INT64, {}), marker],
        {"marker": sparse},
    )  # fmt: skip
    create(
        store.collection(generation, "documents"),
        [("key", DataType.VARCHAR, {"is_primary": True, "max_length": 8192}), ("build", DataType.INT64, {}),
         ("text", DataType.VARCHAR, text), marker],
        {"marker": sparse},
    )  # fmt: skip


def ensure_meta(store: MilvusConnection) -> None:
    from pymilvus import DataType

    client = store.client
    if client.has_collection(store.meta):
        store.load(store.meta)
        return
    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=1024)
    schema.add_field("data", DataType.VARCHAR, max_length=TEXT_BYTES)
    schema.add_field("parts", DataType.INT64)
    schema.add_field("marker", DataType.SPARSE_FLOAT_VECTOR)
    params = client.prepare_index_params()
    params.add_index("marker", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    client.create_collection(store.meta, schema=schema, index_params=params, consistency_level="Strong")


def generations(store: MilvusConnection) -> set[int]:
    """The generations of this index's collections (not of another index whose name starts the same)."""
    own = re.compile(rf"{re.escape(store.name)}_g(\d+)_(chunks|sentences|terms|documents)")
    return {int(m.group(1)) for m in map(own.fullmatch, store.client.list_collections()) if m}


def sparse_weights(counts: Counter[str], length: int, dims: dict[str, int], average: float, k1: float,
                   b: float) -> dict[int, float]:  # fmt: skip
    """A passage's sparse vector: the document side of Lucene's BM25 for each of its grams."""
    norm = np.float32(k1 * ((1 - b) + b * length / average))
    tf = np.minimum(np.asarray(list(counts.values()), dtype=np.float32), MAX_COUNT)
    weights = tf / (tf + norm)
    vector = {dims[g]: float(w) for g, w in zip(counts, weights, strict=True)}
    return vector or {0: 1e-30}  # Milvus stores no empty sparse vector; dimension 0 is never asked


def gram_dims(store: MilvusConnection, generation: int, grams: Iterable[str]) -> dict[str, int]:
    keys = [f"g\x1f{g}" for g in grams]
    found: dict[str, int] = {}
    for start in range(0, len(keys), BATCH):
        rows = store.client.get(store.collection(generation, "terms"), ids=keys[start : start + BATCH],
                                output_fields=["dim"])  # fmt: skip
        found |= {r["key"][2:]: int(r["dim"]) for r in rows}
    return found


def reweight(store: MilvusConnection, pointer: dict[str, int], average: float, k1: float, b: float) -> None:
    """Every passage of builds before ``pointer``'s with BM25 weights for ``average`` (grams recounted from
    the stored text; repeatable, so a build killed halfway through is finished by the next)."""
    generation, chunks = pointer["generation"], store.collection(pointer["generation"], "chunks")
    articles = store.read_blob(version_key(pointer, "documents")) or {}
    ids = [int(c) for entry in articles.values() if int(entry[1]) < pointer["build"] for c, _ in entry[3]]
    for start in range(0, len(ids), BATCH):
        rows = store.client.get(chunks, ids=ids[start : start + BATCH], output_fields=["title", "text", "length"])
        grams = {int(r["id"]): Counter(char_grams(f"{r['title']}\n{r['text']}")) for r in rows}
        dims = gram_dims(store, generation, sorted({g for counts in grams.values() for g in counts}))
        store.client.upsert(chunks, [
            {"id": int(r["id"]), "sparse": sparse_weights(grams[int(r["id"])], int(r["length"]), dims, average, k1, b)}
            for r in rows
        ], partial_update=True)  # fmt: skip


def recover(store: MilvusConnection) -> None:
    """Finish the deletions of a switched version and undo a build that crashed before its switch."""
    ensure_meta(store)
    pointer = store.current()
    for generation in generations(store) - ({pointer["generation"]} if pointer else set()):
        for part in ("chunks", "sentences", "terms", "documents"):
            store.client.drop_collection(store.collection(generation, part))
        store.client.delete(store.meta, filter=f'key like "g{generation}b%"')
    if pointer is None:
        return
    store.load_generation(pointer["generation"])
    crashed = {"generation": pointer["generation"], "build": pointer["build"] + 1}
    undo = store.read_blob(version_key(crashed, "undo"))
    if undo is not None:  # the terms it changed get their values back, those it added go, and its rows
        terms = store.collection(crashed["generation"], "terms")
        changed, added = undo.get("terms", []), undo.get("terms_new", [])
        for start in range(0, max(len(changed), len(added)), BATCH):
            rows = store.client.get(terms, ids=changed[start : start + BATCH], output_fields=["dim", "before", "build"])
            rows = [r for r in rows if int(r["build"]) > pointer["build"]]
            if rows:
                store.client.upsert(terms, [
                    {"key": r["key"], "dim": r["dim"], "df": r["before"], "before": r["before"], "build": 0,
                     "marker": {0: 1.0}} for r in rows
                ])  # fmt: skip
            if added[start : start + BATCH]:
                store.client.delete(terms, ids=added[start : start + BATCH])
    for part in ("chunks", "sentences", "documents"):
        name = store.collection(pointer["generation"], part)
        if store.client.has_collection(name):
            store.client.delete(name, filter=f"build > {pointer['build']}")
    current = version_key(pointer, "")
    store.client.delete(store.meta, filter=f'key like "g{pointer["generation"]}b%" and not (key like "{current}%")')
    finish_switch(store, pointer)


def finish_switch(store: MilvusConnection, pointer: dict[str, int]) -> None:
    """What a version does after its switch (again, if a build was killed halfway through it): re-weight
    the older passages when the average length moved, and delete what it removed."""
    pending = store.read_blob(version_key(pointer, "pending"))
    if not pending:
        return
    generation = pointer["generation"]
    if pending.get("reweight"):
        average, k1, b = pending["reweight"]
        reweight(store, pointer, float(average), float(k1), float(b))
    for part, key in (("chunks", "chunks"), ("sentences", "sentence_rows"), ("documents", "documents")):
        name, ids = store.collection(generation, part), pending.get(key, [])
        if ids and store.client.has_collection(name):
            for start in range(0, len(ids), BATCH):
                store.client.delete(name, ids=ids[start : start + BATCH])
    store.write_blob(version_key(pointer, "pending"), {})
