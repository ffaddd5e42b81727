"""Similar submissions: designs identical up to layer names and positions, and near-duplicates.

Each design becomes a networkx graph labelled with what a layer *is* (its type and settings) and what a
wire carries (which input slot, for layers where order matters, and which output). networkx's
Weisfeiler-Lehman hash then gives equal designs equal hashes, whatever their names or layout. For
near-duplicates, `similarity` compares the wiring (subgraph hashes over layer types) and the layers'
settings, each as a multiset.
This is a pointer for a teacher to look, not a verdict.
"""

from __future__ import annotations

import json
import math
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from engine.graph import MASK_SLOT, NetworkGraph

__all__ = ["Fingerprint", "fingerprint", "similar_designs", "similarity"]

ITERATIONS = 3


@dataclass(frozen=True)
class Fingerprint:
    #: Equal for designs that are the same up to names and positions.
    digest: str
    #: The wiring: every layer's neighbourhood hash over layer types only (depth 0 to ``ITERATIONS``).
    wiring: Counter[str]
    #: The layers with their settings (type and parameters), as a multiset.
    layers: Counter[str]


def _labelled(graph: NetworkGraph) -> nx.DiGraph:
    g = nx.DiGraph()
    for node in graph.nodes():
        settings = json.dumps(dict(graph.params_of(node.id)), sort_keys=True, default=str)
        g.add_node(node.id, label=f"{node.type}{settings}", kind=node.type)
    for edge in graph.edges():
        spec = graph.node(edge.target).spec
        slot = "mask" if edge.slot >= MASK_SLOT else ("" if spec.commutative else str(edge.slot))
        label = f"{slot}:{edge.output}"
        if g.has_edge(edge.source, edge.target):  # the same tensor wired twice: one edge, both labels
            label = "|".join(sorted([g.edges[edge.source, edge.target]["label"], label]))
        g.add_edge(edge.source, edge.target, label=label)
    return g


def _hashes(g: nx.DiGraph, attr: str) -> tuple[str, Counter[str]]:
    with warnings.catch_warnings():
        # networkx 3.5 notes that its hashes of directed graphs changed: ours are compared within one run only.
        warnings.filterwarnings("ignore", message="The hashes produced for directed graphs changed", category=UserWarning)
        digest = nx.weisfeiler_lehman_graph_hash(g, node_attr=attr, edge_attr="label", iterations=ITERATIONS)
        per_node = nx.weisfeiler_lehman_subgraph_hashes(g, node_attr=attr, edge_attr="label", iterations=ITERATIONS)
    parts = Counter(h for hashes in per_node.values() for h in hashes)
    parts.update(g.nodes[n][attr] for n in g)  # the layers themselves (depth 0)
    return digest, parts


def fingerprint(graph: NetworkGraph) -> Fingerprint:
    g = _labelled(graph)
    digest, _ = _hashes(g, "label")
    _, wiring = _hashes(g, "kind")
    return Fingerprint(digest, wiring, Counter(g.nodes[n]["label"] for n in g))


def _jaccard(a: Counter[str], b: Counter[str]) -> float:
    union = sum((a | b).values())
    return sum((a & b).values()) / union if union else 1.0


def similarity(a: Fingerprint, b: Fingerprint) -> float:
    """From 0 to 1: the geometric mean of how alike the wiring of layer types is (Weisfeiler-Lehman
    neighbourhoods) and how many layers have identical settings. One changed filter count in a
    9-layer design gives about 0.9; a different architecture gives near 0."""
    return math.sqrt(_jaccard(a.wiring, b.wiring) * _jaccard(a.layers, b.layers))


def similar_designs(fingerprints: Sequence[Fingerprint], threshold: float = 0.8) -> tuple[list[list[int]], list[tuple[int, int, float]]]:
    """Groups of identical designs (indices, groups of two or more) and near-duplicate pairs
    ``(i, j, similarity)`` at or above ``threshold`` that are not identical, most similar first."""
    groups: dict[str, list[int]] = {}
    for index, fp in enumerate(fingerprints):
        groups.setdefault(fp.digest, []).append(index)
    identical = [members for members in groups.values() if len(members) > 1]
    # One representative per identical group: a near-duplicate of one member is one of them all.
    heads = [members[0] for members in groups.values()]
    pairs = []
    for x, i in enumerate(heads):
        for j in heads[x + 1:]:
            s = similarity(fingerprints[i], fingerprints[j])
            if s >= threshold:
                pairs.append((i, j, s))
    pairs.sort(key=lambda p: -p[2])
    return identical, pairs
