"""Wire copies: articles that carry the same story (an agency's text printed by several newspapers, a
story reprinted with another dateline or headline) found by MinHash and grouped.

Each article gets a MinHash signature of its word 3-shingles (``fingerprint``, stored with the article).
``group_copies`` finds the pairs that share a band of the signature (locality-sensitive hashing,
Broder 1997; Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets* ch. 3), keeps those whose
estimated Jaccard similarity reaches ``SAME_STORY`` (or ``SAME_LEAD`` when their leads match), and joins
them into groups whose first members also match (no long chains of templated texts, such as the
congratulation cables that differ by a country and a name). Grouping runs over every live article at
the end of each build, so it stays right when articles are added, changed or removed, on either store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .textnorm import normalise, words

PERMUTATIONS = 64
BANDS = 16  # of 4 rows: a pair at Jaccard 0.5 shares a band with probability 0.65, at 0.7 with 0.99
SHINGLE = 3
SAME_STORY = 0.7  # estimated Jaccard of the word 3-shingles: the same text, give or take a line or a dateline
SAME_LEAD = 0.45  # …or this much when the opening words are the same (a reprint cut or extended)
LEAD_WORDS = 12
MIN_WORDS = 25  # shorter texts (a headline, a caption) are not grouped: too little to tell a copy by
SIGNATURE_BYTES = PERMUTATIONS * 4
MAX_BUCKET_PAIRS = 64  # a bucket with more members than this is compared with its first member only


@dataclass(frozen=True)
class Fingerprint:
    """What an article is recognised by among its copies: its MinHash signature and its lead."""

    doc_id: str
    signature: bytes  # PERMUTATIONS × uint32; empty for a text too short to group
    lead: str


def fingerprint(doc_id: str, text: str) -> Fingerprint:
    tokens = words(normalise(text))
    if len(tokens) < MIN_WORDS:
        return Fingerprint(doc_id, b"", "")
    from datasketch import MinHash

    shingles = {" ".join(tokens[i : i + SHINGLE]).encode() for i in range(len(tokens) - SHINGLE + 1)}
    minhash = MinHash(num_perm=PERMUTATIONS, seed=1)
    minhash.update_batch(list(shingles))
    signature = minhash.hashvalues.astype(np.uint32).tobytes()
    return Fingerprint(doc_id, signature, " ".join(tokens[:LEAD_WORDS]))


def group_copies(prints: Sequence[Fingerprint]) -> list[list[str]]:
    """Groups (of two or more doc ids) of articles carrying the same story, each sorted by doc id."""
    usable = [p for p in prints if len(p.signature) == SIGNATURE_BYTES]
    if len(usable) < 2:
        return []
    matrix = np.frombuffer(b"".join(p.signature for p in usable), dtype=np.uint32).reshape(len(usable), -1)
    parent = list(range(len(usable)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    checked: set[tuple[int, int]] = set()
    rows = PERMUTATIONS // BANDS
    for band in range(BANDS):
        keys = np.ascontiguousarray(matrix[:, band * rows : (band + 1) * rows]).view(f"V{rows * 4}").ravel()
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], len(order)]
        for start, end in zip(starts, ends, strict=True):
            if end - start < 2:
                continue
            members = [int(m) for m in order[start:end]]
            # every pair of a bucket (a bucket of boilerplate can be large: each against its first there)
            pairs = (
                [(a, b) for x, a in enumerate(members) for b in members[x + 1 :]]
                if len(members) <= MAX_BUCKET_PAIRS
                else [(members[0], b) for b in members[1:]]
            )
            for a, b in pairs:
                if (a, b) in checked or root(a) == root(b):
                    continue
                checked.add((a, b))
                if not _same_story(matrix[a], matrix[b], usable[a].lead == usable[b].lead):
                    continue
                ra, rb = root(a), root(b)  # groups join only when their first members match too: no chains
                if ra == rb or _same_story(matrix[ra], matrix[rb], usable[ra].lead == usable[rb].lead):
                    parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[str]] = {}
    for i, p in enumerate(usable):
        groups.setdefault(root(i), []).append(p.doc_id)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def _same_story(a: np.ndarray, b: np.ndarray, same_lead: bool) -> bool:
    similarity = float(np.mean(a == b))  # the share of equal minima estimates the Jaccard similarity
    return similarity >= SAME_STORY or (same_lead and similarity >= SAME_LEAD)
