"""Distributed embedding on Ray Data: a build's chunks and sentences encoded by a pool of actors that
each hold the model, on the machine (a local Ray) or on a cluster (``--ray ADDRESS`` / RAY_ADDRESS).

``RayEmbedder`` is an ``Embedder``: the build, its content hashes and the index are those of a local
build, only ``encode_documents`` runs elsewhere, so a Ray build and a local build update each other's
index. Questions are encoded by the local model (one short text: a cluster round trip would cost more).
Actors are started per encoding batch (Ray Data's actor pools live for one execution); each loads the
model once and encodes ``settings.ray.batch_size`` texts at a time, on a GPU when the cluster has them.
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .config import RaySettings
from .embedding import Embedder, PromptStyle, load_embedder
from .errors import BadArgument

log = logging.getLogger("rag_qa")
LOCAL = "local"  # `--ray` without an address: a Ray started on this machine


class _Encoder:
    """A Ray Data actor: loads the model once, then encodes each batch of texts."""

    def __init__(self, factory: Callable[[], Embedder], threads: int) -> None:
        import torch

        from .openvino_engine import OpenVinoEmbedder

        torch.set_num_threads(max(1, threads))
        self.embedder = factory()
        if isinstance(self.embedder, OpenVinoEmbedder):
            self.embedder.threads = max(1, threads)  # (compiled on the first batch)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.encode_documents([str(t) for t in batch["text"]])
        return {"row": batch["row"], "vector": np.asarray(vectors, dtype=np.float32)}


def start_ray(address: str | None, settings: RaySettings) -> None:
    """Connect to the cluster at ``address`` (``local``/None: start one here with settings.cpus)."""
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # Ray's and Milvus's gRPC: no fork notices on the terminal
    os.environ.setdefault("RAY_DATA_LOG_LEVEL", "WARNING")  # no per-round progress lines: the build reports its own
    import ray

    if ray.is_initialized():
        return
    options: dict[str, Any] = {
        "include_dashboard": False, "log_to_driver": False, "ignore_reinit_error": True,
        "logging_level": logging.ERROR,
    }  # fmt: skip
    if address and address != LOCAL:
        options["address"] = address
    else:
        options["num_cpus"] = settings.cpus or os.cpu_count() or 1
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise BadArgument(f"Ray at {address or 'this machine'} cannot be reached: {str(exc).splitlines()[0]}") from None
    ray.data.DataContext.get_current().print_on_execution_start = False  # the build shows its own progress


class RayEmbedder:
    """``local``'s name, dimension, window, prompts and token counts; its documents encoded on Ray by actors
    built with ``factory`` (a picklable callable returning the same model)."""

    def __init__(self, local: Embedder, factory: Callable[[], Embedder], address: str | None,
                 settings: RaySettings) -> None:  # fmt: skip
        self.local, self.factory, self.address, self.settings = local, factory, address, settings
        self.name: str = local.name
        self.dimension: int = local.dimension
        self.max_seq_length: int = local.max_seq_length
        self.style: PromptStyle = local.style
        self.encoded = 0  # texts encoded through Ray (for the build's report and the tests)

    def describe(self) -> dict[str, Any]:
        return self.local.describe()

    def count_tokens(self, text: str) -> int:
        return self.local.count_tokens(text)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self.local.encode_queries(texts)

    def encode_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        import ray

        start_ray(self.address, self.settings)
        gpus = ray.cluster_resources().get("GPU", 0)
        cpus = self.settings.cpus_per_actor
        items = ray.data.from_items([{"row": i, "text": t} for i, t in enumerate(texts)])
        with warnings.catch_warnings():  # max_restarts goes through ray_remote_args, deprecated after Ray 2.60
            warnings.simplefilter("ignore", DeprecationWarning)
            encoded = items.map_batches(
                _Encoder, fn_constructor_args=(self.factory, cpus), batch_size=self.settings.batch_size,
                compute=ray.data.ActorPoolStrategy(size=self.settings.actors), num_cpus=cpus,
                num_gpus=1 if gpus else 0, batch_format="numpy",
                max_restarts=0,  # a failed actor fails the build (the next build redoes it)
            )  # fmt: skip
        rows = encoded.take_all()
        matrix = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row in rows:
            matrix[int(row["row"])] = row["vector"]
        self.encoded += len(texts)
        return matrix


def on_ray(embedder: Embedder, address: str | None, settings: RaySettings, batch_size: int) -> RayEmbedder:
    """``embedder`` with its document encoding moved to Ray. A model loaded by name is loaded again by
    name in each actor; any other embedder (a test's) is shipped to the actors as it is."""
    from .embedding import SentenceTransformerEmbedder
    from .openvino_engine import OpenVinoEmbedder

    if isinstance(embedder, (SentenceTransformerEmbedder, OpenVinoEmbedder)):
        factory: Callable[[], Embedder] = functools.partial(
            load_embedder, embedder.name, batch_size, precision=embedder.precision_setting
        )
    else:
        factory = functools.partial(_same, embedder)
    return RayEmbedder(embedder, factory, address, settings)


def _same(embedder: Embedder) -> Embedder:
    return embedder
