"""Wire copies: articles that carry the same story (an agency's text printed by several newspapers, a
story reprinted with another dateline or headline) found by MinHash and grouped.

Each article gets a MinHash signature of its word 3-shingles (``fingerprint``, stored with the article).
``group_copies`` finds the pairs that share a band of the signature (locality-sensitive hashing,
Broder 1997; Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets* ch. 3), keeps those whose
estimated Jaccard similarity reaches ``SAME_STORY`` (or, their openings alike, ``SAME_LEAD``, or the shorter
text lies ``CUT_COPY`` inside the longer: a reprint cut to fit), and joins
them into groups whose first members also match (no long chains of templated texts, such as the
congratulation cables that differ by a country and a name). Grouping runs over every live article at
the end of each build, so it stays right when articles are added, changed or removed, on either store.
Only dated articles are grouped: copies are printed within days of each other, and without dates a copy
cannot be told from a template or from two overlapping paragraphs of one encyclopedia article.
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
SAME_LEAD = 0.45  # …or this much when the openings are alike (another headline verb, a cleaned line)
CUT_COPY = 0.8  # …or the shorter text's shingles this much inside the longer one, openings alike (a cut reprint)
LEAD_WORDS = 12
ALIKE_LEADS = 0.6  # the share of opening words two leads have in common (as sets) to count as alike
# Copies are printed within days of each other; texts alike but dated further apart are templates (the
# Interior Ministry's statements on executions, the King's congratulation cables), not one story.
MAX_DAYS_APART = 3
MIN_WORDS = 25  # shorter texts (a headline, a caption) are not grouped: too little to tell a copy by
SIGNATURE_BYTES = PERMUTATIONS * 4 + 4  # the minima, then the number of distinct shingles (uint32 each)
MAX_BUCKET_PAIRS = 64  # a bucket with more members than this is compared with its first member only


@dataclass(frozen=True)
class Fingerprint:
    """What an article is recognised by among its copies: its MinHash signature and its lead."""

    doc_id: str
    signature: bytes  # PERMUTATIONS minima and the shingle count, uint32; empty for a text too short to group
    lead: str
    day: int = -1  # the article's date as a day number (-1: undated), set when the index reads it back


def fingerprint(doc_id: str, text: str) -> Fingerprint:
    tokens = words(normalise(text))
    if len(tokens) < MIN_WORDS:
        return Fingerprint(doc_id, b"", "")
    from datasketch import MinHash

    shingles = {" ".join(tokens[i : i + SHINGLE]).encode() for i in range(len(tokens) - SHINGLE + 1)}
    minhash = MinHash(num_perm=PERMUTATIONS, seed=1)
    minhash.update_batch(list(shingles))
    signature = np.append(minhash.hashvalues.astype(np.uint32), np.uint32(len(shingles))).tobytes()
    return Fingerprint(doc_id, signature, " ".join(tokens[:LEAD_WORDS]))


def group_copies(prints: Sequence[Fingerprint]) -> list[list[str]]:
    """Groups (of two or more doc ids) of articles carrying the same story, each sorted by doc id."""
    # dated articles only: without dates a copy cannot be told from a template, nor a wire story from
    # the overlapping paragraphs of an encyclopedia's article (ARCD stores such pairs under two ids)
    usable = [p for p in prints if len(p.signature) == SIGNATURE_BYTES and p.day >= 0]
    if len(usable) < 2:
        return []
    matrix = np.frombuffer(b"".join(p.signature for p in usable), dtype=np.uint32).reshape(len(usable), -1)
    parent = list(range(len(usable)))
    leads = [set(p.lead.split()) for p in usable]

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
                if not same_story(usable[a], usable[b], matrix[a], matrix[b], leads[a], leads[b]):
                    continue
                ra, rb = root(a), root(b)  # groups join only when their first members match too: no chains
                if ra == rb or same_story(usable[ra], usable[rb], matrix[ra], matrix[rb], leads[ra], leads[rb]):
                    parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[str]] = {}
    for i, p in enumerate(usable):
        groups.setdefault(root(i), []).append(p.doc_id)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def same_story(
    first: Fingerprint, second: Fingerprint, a: np.ndarray, b: np.ndarray, lead_a: set[str], lead_b: set[str]
) -> bool:
    """Whether two articles carry the same story, by their signatures ``a`` and ``b`` (minima, then the shingle
    count), their leads' words and their dates."""
    if abs(first.day - second.day) > MAX_DAYS_APART:
        return False
    similarity = float(np.mean(a[:PERMUTATIONS] == b[:PERMUTATIONS]))  # equal minima estimate the Jaccard
    if similarity >= SAME_STORY:
        return True
    alike = len(lead_a & lead_b) >= ALIKE_LEADS * max(len(lead_a), len(lead_b), 1)
    if not alike:
        return False
    # |A ∩ B| = J / (1 + J) · (|A| + |B|): the share of the shorter text found in the longer one
    shared = similarity / (1 + similarity) * (int(a[-1]) + int(b[-1]))
    return similarity >= SAME_LEAD or shared >= CUT_COPY * min(int(a[-1]), int(b[-1]))
