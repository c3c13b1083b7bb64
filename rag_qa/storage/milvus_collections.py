"""The collections of a Milvus index (see milvus.py) and their upkeep: creating a generation's, undoing
a build that crashed before its switch, and finishing the deletions of one that switched."""

from __future__ import annotations

from typing import Any

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
    prefix = f"{store.name}_g"
    return {int(n[len(prefix) :].split("_")[0]) for n in store.client.list_collections() if n.startswith(prefix)}


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
    undo = store.read_blob(version_key(crashed, "pending"))
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
        for what in ("pending", "documents", "sources", "manifest"):
            store.delete_blob(version_key(crashed, what))
    for part in ("chunks", "sentences", "documents"):
        name = store.collection(pointer["generation"], part)
        if store.client.has_collection(name):
            store.client.delete(name, filter=f"build > {pointer['build']}")
    finish_deletions(store, pointer)


def finish_deletions(store: MilvusConnection, pointer: dict[str, int]) -> None:
    pending = store.read_blob(version_key(pointer, "pending"))
    if not pending or not (pending.get("chunks") or pending.get("documents")):
        return
    generation = pointer["generation"]
    for part, key in (("chunks", "chunks"), ("sentences", "sentence_rows"), ("documents", "documents")):
        name, ids = store.collection(generation, part), pending.get(key, [])
        if ids and store.client.has_collection(name):
            for start in range(0, len(ids), BATCH):
                store.client.delete(name, ids=ids[start : start + BATCH])
    store.write_blob(version_key(pointer, "pending"), {})
