"""Similar submissions: designs identical up to layer names and positions, near-duplicates, and which
near-duplicates look copied rather than converged on the solution.

Each design is labelled with what a layer *is* (its type and settings) and what a wire carries (which input
slot, for layers where order matters, and which output). A Weisfeiler-Lehman refinement over those labels
(each layer's label combined with its neighbours', three rounds, in both directions) gives equal designs equal
digests, whatever their names or layout. For near-duplicates, `similarity` compares the wiring (the
neighbourhood hashes over layer types) and the layers' settings, each as a multiset.

Two students who each make one honest mistake on the reference solution are close to each other *because*
both are close to the reference. `compare_designs` therefore reports each pair's similarity next to each
one's distance from the reference, and ranks first the pairs that share more with each other than either
shares with the reference (``beyond_reference``): that is what copying leaves and converging does not.
This is a pointer for a teacher to look, not a verdict.

The pairwise overlaps of a whole class are one sparse matrix product (scipy), not a loop over pairs.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.graph import MASK_SLOT, NetworkGraph
from engine.layers import get_spec

__all__ = [
    "Comparison",
    "Fingerprint",
    "Pair",
    "compare_designs",
    "fingerprint",
    "fingerprint_files",
    "similar_designs",
    "similarity",
]

ITERATIONS = 3


@dataclass(frozen=True)
class Fingerprint:
    #: Equal for designs that are the same up to names and positions.
    digest: int
    #: The wiring: every layer's neighbourhood label over layer types only (depth 0 to ``ITERATIONS``).
    wiring: Counter[int]
    #: The layers with their settings (type and parameters), as a multiset.
    layers: Counter[int]


def _stable(text: str) -> int:
    """A 64-bit label of a text, the same in every process (``hash()`` of a text is not: Python salts it)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def _refine(
    labels: dict[str, int], into: dict[str, list[tuple[str, int]]], out: dict[str, list[tuple[str, int]]]
) -> list[dict[str, int]]:
    """Weisfeiler-Lehman rounds: each layer's label with its inputs' and outputs' labels and wire labels, hashed.
    (``hash()`` of a tuple of whole numbers is the same in every process.)"""
    rounds = [labels]
    for _round in range(ITERATIONS):
        prev = rounds[-1]
        rounds.append(
            {
                n: hash(
                    (
                        prev[n],
                        tuple(sorted((w, prev[s]) for s, w in into[n])),
                        tuple(sorted((w, prev[t]) for t, w in out[n])),
                    )
                )
                for n in prev
            }
        )
    return rounds


def fingerprint(graph: NetworkGraph) -> Fingerprint:
    """What `similarity` and `compare_designs` compare; about 5 ms for a 429-layer DenseNet121."""
    g = graph.nx_graph
    nodes = g._node
    settings: dict[str, int] = {}
    kinds: dict[str, int] = {}
    commutative: dict[str, bool] = {}
    for n, data in nodes.items():
        kinds[n] = _stable(data["type"])
        # Canonical parameters are built in the spec's order, so their repr is the same for equal settings.
        settings[n] = _stable(f"{data['type']}{tuple(data['params'].items())!r}")
        commutative[n] = get_spec(data["type"]).commutative
    into: dict[str, list[tuple[str, int]]] = {n: [] for n in nodes}
    out: dict[str, list[tuple[str, int]]] = {n: [] for n in nodes}
    for source, target, slot, data in g.edges(keys=True, data=True):
        where = "mask" if slot >= MASK_SLOT else ("" if commutative[target] else str(slot))
        wire = _stable(f"{where}:{data.get('output', 0)}")
        into[target].append((source, wire))
        out[source].append((target, wire))
    full = _refine(settings, into, out)
    digest = hash(tuple(sorted(h for r in full for h in r.values())))
    wiring: Counter[int] = Counter()
    for r in _refine(kinds, into, out):
        wiring.update(r.values())
    return Fingerprint(digest, wiring, Counter(settings.values()))


def _jaccard(a: Counter[int], b: Counter[int]) -> float:
    union = sum((a | b).values())
    return sum((a & b).values()) / union if union else 1.0


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """From 0 to 1: the geometric mean of how alike the wiring of layer types is (Weisfeiler-Lehman
    neighbourhoods) and how many layers have identical settings (each a weighted Jaccard index of multisets).
    One changed filter count in a 9-layer design gives about 0.9; a different architecture gives near 0."""
    return math.sqrt(_jaccard(a.wiring, b.wiring) * _jaccard(a.layers, b.layers))


def _jaccards(bags: Sequence[Counter[int]]) -> Any:
    """The weighted Jaccard index ``sum(min) / sum(max)`` of every pair of multisets, by one sparse product.

    A multiset is a set of tokens ``(key, k)`` for k = 1..count, so that ``sum(min)`` of two multisets is the
    number of tokens they share: a product of 0/1 matrices. Tokens that many designs hold go through a dense
    product (BLAS), the rest through a sparse one."""
    import numpy as np
    from scipy import sparse

    keys: dict[int, int] = {}
    key_rows, key_ids, counts = [], [], []
    for row, bag in enumerate(bags):
        key_rows.append(np.full(len(bag), row, dtype=np.int64))
        key_ids.append(np.fromiter((keys.setdefault(k, len(keys)) for k in bag), dtype=np.int64, count=len(bag)))
        counts.append(np.fromiter(bag.values(), dtype=np.int64, count=len(bag)))
    n = len(bags)
    row_of, key_of, count_of = (
        np.concatenate(a) if a else np.zeros(0, dtype=np.int64) for a in (key_rows, key_ids, counts)
    )
    # Token (key, k) for k < count: the key's first token id, plus k.
    most = np.zeros(max(1, len(keys)), dtype=np.int64)
    np.maximum.at(most, key_of, count_of)
    first = np.concatenate(([0], np.cumsum(most)[:-1]))
    rows = np.repeat(row_of, count_of)
    starts = np.repeat(np.cumsum(count_of) - count_of, count_of)
    cols = np.repeat(first[key_of], count_of) + (np.arange(len(rows)) - starts)
    matrix = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, max(1, int(most.sum()))))
    sizes = np.asarray(matrix.sum(axis=1)).ravel()
    frequency = np.asarray(matrix.sum(axis=0)).ravel()
    common = frequency >= max(2, min(32, n // 8))
    dense = matrix[:, np.flatnonzero(common)].toarray()
    shared = dense @ dense.T
    rare = matrix[:, np.flatnonzero(~common & (frequency >= 2))]
    shared += (rare @ rare.T).toarray()
    np.fill_diagonal(
        shared, sizes
    )  # tokens only one design holds were left out above: they are shared with itself only
    union = sizes[:, None] + sizes[None, :] - shared
    return np.divide(shared, union, out=np.ones_like(shared), where=union > 0)


def _matrix(fingerprints: Sequence[Fingerprint]) -> Any:
    """Every pair's `similarity` (an n x n numpy array), computed for the whole class at once."""
    import numpy as np

    if not fingerprints:
        return np.zeros((0, 0))
    return np.sqrt(_jaccards([f.wiring for f in fingerprints]) * _jaccards([f.layers for f in fingerprints]))


@dataclass(frozen=True)
class Pair:
    a: int
    b: int
    similarity: float
    #: 1 - similarity to the reference solution, of ``a`` and of ``b`` (None without a reference).
    a_from_reference: float | None = None
    b_from_reference: float | None = None

    @property
    def beyond_reference(self) -> float | None:
        """How much more the two share with each other than either shares with the reference: high for a copy,
        near or below 0 for two designs that both came close to the solution."""
        if self.a_from_reference is None or self.b_from_reference is None:
            return None
        return self.similarity - (1 - min(self.a_from_reference, self.b_from_reference))


@dataclass
class Comparison:
    #: Groups of identical designs (indices, two or more each).
    identical: list[list[int]]
    #: Near-duplicate pairs at or above the threshold, not identical; with a reference, the pairs closest to each
    #: other and furthest from the reference first, else the most similar first.
    pairs: list[Pair]
    #: Each design's distance from the reference (None without one); the indices of designs identical to it.
    from_reference: list[float] | None = None
    same_as_reference: frozenset[int] = frozenset()


def compare_designs(
    fingerprints: Sequence[Fingerprint], threshold: float = 0.8, reference: Fingerprint | None = None
) -> Comparison:
    """Identical groups and near-duplicate pairs of a class, each pair set against the reference solution if given."""
    import numpy as np

    groups: dict[int, list[int]] = {}
    for index, fp in enumerate(fingerprints):
        groups.setdefault(fp.digest, []).append(index)
    identical = [members for members in groups.values() if len(members) > 1]
    # One representative per identical group: a near-duplicate of one member is one of them all.
    heads = [members[0] for members in groups.values()]
    everything = [fingerprints[i] for i in heads] + ([reference] if reference is not None else [])
    sims = _matrix(everything)  # identical designs are one row: their similarities are the same
    far: list[float] | None = None
    if reference is not None:
        head_far = {fp.digest: max(0.0, 1 - float(sims[x, -1])) for x, fp in enumerate(everything[:-1])}
        far = [head_far[fp.digest] for fp in fingerprints]
    xs, ys = np.nonzero(np.triu(sims[: len(heads), : len(heads)] >= threshold - 1e-6, k=1))
    values = np.minimum(1.0, sims[xs, ys])
    if reference is not None:
        # Closest to each other and furthest from the reference first: their similarity minus the closer one's to it.
        beyond = values - np.maximum(sims[xs, -1], sims[ys, -1])
        order = np.lexsort((-values, -beyond))
    else:
        order = np.argsort(-values, kind="stable")
    pairs = [
        Pair(heads[x], heads[y], float(v), far[heads[x]] if far else None, far[heads[y]] if far else None)
        for x, y, v in zip(xs[order].tolist(), ys[order].tolist(), values[order].tolist())
    ]
    same = frozenset(i for i, fp in enumerate(fingerprints) if reference is not None and fp.digest == reference.digest)
    return Comparison(identical, pairs, far, same)


def similar_designs(
    fingerprints: Sequence[Fingerprint], threshold: float = 0.8
) -> tuple[list[list[int]], list[tuple[int, int, float]]]:
    """Groups of identical designs (indices, groups of two or more) and near-duplicate pairs
    ``(i, j, similarity)`` at or above ``threshold`` that are not identical, most similar first."""
    result = compare_designs(fingerprints, threshold)
    return result.identical, [(p.a, p.b, p.similarity) for p in result.pairs]


def _fingerprint_file(path: str) -> Fingerprint | str:
    """The fingerprint of a project file, or why it cannot be read (one line)."""
    from engine.project import ProjectError, load_project

    try:
        return fingerprint(load_project(path)[0])
    except ProjectError as exc:
        return exc.detail
    except OSError as exc:
        return exc.strerror or str(exc)


#: From this many files on, `fingerprint_files` reads them in worker processes (one per core).
PARALLEL_FROM = 64


def fingerprint_files(paths: Sequence[str], jobs: int | None = None) -> list[Fingerprint | str]:
    """Each file's fingerprint (or why it cannot be read), in order. Reading and checking a project file costs
    more than its fingerprint, so a class of many files is read in ``jobs`` worker processes (default: the cores)."""
    import os

    jobs = jobs or os.cpu_count() or 1
    if jobs < 2 or len(paths) < PARALLEL_FROM:
        return [_fingerprint_file(p) for p in paths]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(min(jobs, 8)) as pool:
        return list(pool.map(_fingerprint_file, paths, chunksize=max(1, len(paths) // (8 * jobs))))
