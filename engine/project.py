"""Project files: versioned JSON documents holding a network's layers, wires and canvas positions.

Format (version 1)::

    {
      "format": "layerlab-project",
      "version": 1,
      "name": "LeNet-5",                     # optional title
      "description": "...",                  # optional
      "nodes": [
        {"id": "n1", "type": "Input", "name": "image",
         "params": {"shape": [28, 28, 1]}, "position": [0, 0]}
      ],
      "edges": [{"source": "n1", "target": "n2", "slot": 0}],
      "answers": {"q1": 2320}                # optional: answers to an exercise's questions
    }

Version 2 adds what real Keras models hold (version 1 files are still read; a design that needs none of
it is still written as version 1, so older LayerLab versions keep opening it)::

      "groups": [{"id": "g1", "name": "embedding", "kind": "model", "parent": null, "shares": null}],
      "nodes": [{..., "group": "g1", "shares": "n4"}],   # nested model; a second call of layer n4
      "edges": [{..., "output": 1}]                     # the wire carries output 1 (an LSTM's state_h)

Loading never executes anything from the file: it is parsed as JSON and every value is checked
against the layer catalogue. Any problem raises `ProjectError` with one line naming the file and
the node or field at fault. Saving is atomic: a temporary file beside the target is written,
flushed to disk and renamed over it, so a crash leaves the old file or the new one, never half.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import networkx as nx

from engine.graph import GraphError, NetworkGraph, is_valid_text, validate_name
from engine.layers import ParamError, UnknownLayerError, get_spec, unknown_layer_text
from engine.structure import StructureError, check_structure, require_sound

__all__ = [
    "FORMAT",
    "VERSION",
    "ProjectError",
    "graph_to_dict",
    "graph_from_dict",
    "load_project",
    "load_design",
    "save_project",
    "atomic_write_text",
    "read_json_file",
    "read_regular_file",
    "FileRefused",
    "StructureError",
]

FORMAT = "layerlab-project"
VERSION = 2
#: Refuse files larger than this before parsing them (a DenseNet121 project is ~200 KB).
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NODES = 100_000
MAX_ID_LENGTH = 100


class ProjectError(ValueError):
    """A project file that cannot be read. ``str(error)`` is one line: ``file: where: what``."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.detail = message


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _groups_parents_first(graph: NetworkGraph) -> list[str]:
    """Group ids with every parent before its children (and an owner before the groups sharing it), otherwise
    in the graph's order: the order the loader of older versions needs."""
    placed: dict[str, None] = {}
    for gid in graph.groups:
        chain: list[str] = []
        cursor: str | None = gid
        while cursor is not None and cursor in graph.groups and cursor not in placed and cursor not in chain:
            chain.append(cursor)
            group = graph.groups[cursor]
            cursor = group.shares if group.shares is not None and group.shares not in placed else group.parent
        for g in reversed(chain):
            placed[g] = None
    return list(placed)


def _duplicated_names(graph: NetworkGraph) -> set[str]:
    counts: dict[str, int] = {}
    for node in graph.nodes():
        counts[node.name] = counts.get(node.name, 0) + 1
    return {name for name, count in counts.items() if count > 1}


def graph_to_dict(graph: NetworkGraph, *, name: str = "", description: str = "", answers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The project document for ``graph`` (plain JSON types only).

    The same design always gives the same document: layers in the graph's order (which orders the model's
    inputs and outputs), groups parents first, wires by target layer and slot. A design that breaks its
    structural invariant (`engine.structure`) raises `StructureError` instead: it is never written."""
    require_sound(graph)
    needs_v2 = bool(graph.groups) or any(n.shares or n.group or not n.trainable for n in graph.nodes()) or any(e.output for e in graph.edges())
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION if needs_v2 else 1}
    if name:
        doc["name"] = name
    if description:
        doc["description"] = description
    if answers:
        doc["answers"] = dict(answers)
    if graph.groups:
        doc["groups"] = []
        for gid in _groups_parents_first(graph):
            g = graph.groups[gid]
            doc["groups"].append({"id": g.id, "name": g.name, "kind": g.kind, "parent": g.parent, "shares": g.shares,
                                  **({"collapsed": True} if g.collapsed else {}), **({} if g.trainable else {"trainable": False})})
    duplicated = _duplicated_names(graph)
    nodes = []
    index: dict[str, int] = {}
    for node in graph.nodes():
        index[node.id] = len(index)
        entry: dict[str, Any] = {
            "id": node.id,
            "type": node.type,
            "name": node.name,
            "params": _jsonable(node.params),
            "position": [round(node.position[0], 2), round(node.position[1], 2)],
        }
        if node.group:
            entry["group"] = node.group
        if node.shares:
            entry["shares"] = node.shares
        if node.name in duplicated:  # which of two layers of one name was named later (and is at fault)
            entry["name_order"] = node.name_order
        if not node.trainable:
            entry["trainable"] = False
        nodes.append(entry)
    doc["nodes"] = nodes
    edges = sorted(graph.edges(), key=lambda e: (index[e.target], e.slot))
    doc["edges"] = [{"source": e.source, "target": e.target, "slot": e.slot, **({"output": e.output} if e.output else {})} for e in edges]
    return doc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice in one object")
        out[key] = value
    return out


def read_json_file(path: str | os.PathLike[str], error: type[ProjectError] = ProjectError) -> Any:
    """Parse a JSON file strictly (no NaN, no duplicate keys, bounded size and depth) or raise ``error``."""
    source = str(path)
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES)
    except FileRefused as exc:
        raise error(source, str(exc)) from None
    except OSError as exc:
        raise error(source, exc.strerror or str(exc)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(source, f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise error(source, "the file is empty")
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise error(source, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise error(source, "the JSON is nested too deeply") from None
    except ValueError as exc:
        raise error(source, f"not valid JSON ({exc})") from None


class FileRefused(OSError):
    """A path that is not a regular file, or a file too large to read."""


def read_regular_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. Devices, FIFOs and folders are refused before
    they are opened (reading ``/dev/urandom`` or a FIFO would never end), and at most ``limit + 1`` bytes
    are ever read, even if the file grows meanwhile."""
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused("not a regular file (a device, a pipe or a folder)")
    if info.st_size > limit:
        raise FileRefused(f"file is {info.st_size:,} bytes; LayerLab reads files up to {limit:,} bytes")
    with open(path, "rb") as fh:
        raw = fh.read(limit + 1)
    if len(raw) > limit:
        raise FileRefused(f"file is larger than {limit:,} bytes; LayerLab reads files up to {limit:,} bytes")
    return raw


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _read_answers(answers: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers that can be read, and why each other one cannot. One malformed answer costs that answer,
    never the design: a student keeps the marks for the architecture."""
    if not isinstance(answers, dict):
        return {}, {"*": f'"answers" must map question ids to numbers or short texts, got {_short(answers)}'}
    good: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for key, value in list(answers.items())[:1000]:
        if not isinstance(key, str) or len(key) > 100:
            continue
        if isinstance(value, str) and len(value) <= 100 and is_valid_text(value) or (
                isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)):
            good[key] = value
        else:
            problems[key] = f"the answer saved in the file is not a number or a short text ({_short(value)})"
    return good, problems


def graph_from_dict(doc: Any, source: str = "<project>", *, fill_required: bool = False) -> tuple[NetworkGraph, dict[str, Any]]:
    """Build a graph from a parsed project document. Returns ``(graph, meta)`` where meta holds
    ``name`` and ``description``. Raises `ProjectError` naming the node or field at fault.

    With ``fill_required`` a layer missing a required parameter gets the palette's starting value (the
    clipboard, where a hand-written fragment may leave them out) instead of an error."""

    def fail(message: str) -> ProjectError:
        return ProjectError(source, message)

    if not isinstance(doc, dict):
        raise fail("a project file must hold a JSON object")
    if doc.get("format") != FORMAT:
        raise fail(f'"format" must be "{FORMAT}" (is this a LayerLab project?), got {_short(doc.get("format"))}')
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise fail(f'"version" must be a positive whole number, got {_short(version)}')
    if version > VERSION:
        raise fail(f"written by a newer LayerLab (format version {version}); this version reads up to {VERSION}")
    meta: dict[str, Any] = {}
    for key in ("name", "description"):
        value = doc.get(key, "")
        if not isinstance(value, str):
            raise fail(f'"{key}" must be text, got {_short(value)}')
        if not is_valid_text(value):
            raise fail(f'"{key}" holds half of a character (a lone surrogate); it cannot be saved')
        meta[key] = value
    meta["answers"], meta["answer_problems"] = _read_answers(doc.get("answers", {}))

    nodes, edges = doc.get("nodes"), doc.get("edges", [])
    if not isinstance(nodes, list):
        raise fail('"nodes" must be a list of layers' if nodes is not None else 'missing "nodes"')
    if not isinstance(edges, list):
        raise fail('"edges" must be a list of wires')
    if len(nodes) > MAX_NODES:
        raise fail(f"{len(nodes):,} layers is more than LayerLab's limit of {MAX_NODES:,}")

    graph = NetworkGraph()
    groups = doc.get("groups", []) if version >= 2 else []
    if not isinstance(groups, list) or len(groups) > MAX_NODES:
        raise fail('"groups" must be a list of groups')
    _add_groups(graph, groups, fail)
    sharers: list[tuple[str, Any, str]] = []
    for index, entry in enumerate(nodes):
        shares = _add_entry(graph, index, entry, version, fail, fill_required)
        if shares is not None:
            sharers.append(shares)
    # Later calls of a shared layer, once every layer is there (the layer a call shares may come after it in the file).
    for node_id, owner, where in sharers:
        if not isinstance(owner, str) or owner not in graph:
            raise fail(f'{where}: "shares" {_short(owner)} is not the id of a layer in this file')
        mine, theirs = graph.node(node_id), graph.node(owner)
        if theirs.type != mine.type or theirs.shares is not None or owner == node_id:
            raise fail(f"{where}: a {mine.type} can share the weights of another {mine.type} only, one that owns its weights "
                       f"(not {theirs.name!r}, a {theirs.type})")
        if dict(theirs.params) != dict(mine.params):
            raise fail(f"{where}: it shares the weights of {theirs.name!r} but has other settings")
        graph.set_shares(node_id, owner)

    for index, entry in enumerate(edges):
        where = f"edges[{index}]"
        if not isinstance(entry, dict):
            raise fail(f"{where} must be an object")
        src, dst, slot = entry.get("source"), entry.get("target"), entry.get("slot")
        output = entry.get("output", 0) if version >= 2 else 0
        for key, value in (("source", src), ("target", dst)):
            if not isinstance(value, str) or value not in graph:
                raise fail(f'{where}: "{key}" {_short(value)} is not the id of a node in this file')
        if slot is not None and (not isinstance(slot, int) or isinstance(slot, bool) or not 0 <= slot < MAX_NODES):
            raise fail(f'{where}: "slot" must be a whole number from 0, got {_short(slot)}')
        try:
            graph.connect(src, dst, slot, output)  # type: ignore[arg-type]
        except GraphError as exc:
            raise fail(f"{where}: {exc}") from None
    problems = check_structure(graph, limit=1)
    if problems:
        raise fail(str(problems[0]))
    return graph, meta


def _add_groups(graph: NetworkGraph, groups: list[Any], fail: Any) -> None:
    """Add the groups of a file, in any order (files written before version 2.1 could list a block before its parent)."""
    entries: dict[str, tuple[str, dict[str, Any]]] = {}
    for index, entry in enumerate(groups):
        where = f"groups[{index}]"
        if not isinstance(entry, dict):
            raise fail(f"{where} must be an object")
        gid, kind = entry.get("id"), entry.get("kind", "model")
        if not isinstance(gid, str) or not gid or len(gid) > MAX_ID_LENGTH:
            raise fail(f'{where}: "id" must be a non-empty text of at most {MAX_ID_LENGTH} characters, got {_short(gid)}')
        if gid in entries:
            raise fail(f"{where}: the group id {gid!r} is used twice")
        if kind not in ("model", "block"):
            raise fail(f'{where}: "kind" must be "model" or "block", got {_short(kind)}')
        for key in ("parent", "shares"):
            ref = entry.get(key)
            if ref is not None and not isinstance(ref, str):
                raise fail(f'{where}: "{key}" must be the id of a group, got {_short(ref)}')
        for key in ("collapsed", "trainable"):
            if not isinstance(entry.get(key, False), bool):
                raise fail(f'{where}: "{key}" must be true or false, got {_short(entry.get(key))}')
        entries[gid] = (where, entry)
    for where, entry in entries.values():
        for key in ("parent", "shares"):
            ref = entry.get(key)
            if ref is not None and ref not in entries:
                raise fail(f'{where}: "{key}" {_short(ref)} is not the id of a group in this file')
    # Parents (and the models they share) first, the file's order otherwise; a loop of parents is refused by name.
    order = {gid: i for i, gid in enumerate(entries)}
    deps = nx.DiGraph()
    deps.add_nodes_from(entries)
    deps.add_edges_from((ref, gid) for gid, (_, entry) in entries.items() for ref in (entry.get("parent"), entry.get("shares"))
                        if ref is not None)
    try:
        ordered = list(nx.lexicographical_topological_sort(deps, key=order.__getitem__))
    except nx.NetworkXUnfeasible:
        loop = " -> ".join(str(u) for u, _ in nx.find_cycle(deps))
        raise fail(f"groups: their parents form a loop ({loop})") from None
    for g in ordered:
        where, entry = entries[g]
        try:
            graph.add_group(entry.get("name"), kind=entry.get("kind", "model"), parent=entry.get("parent"),  # type: ignore[arg-type]
                            shares=entry.get("shares"), group_id=g)
            if entry.get("collapsed", False):
                graph.update_group(g, collapsed=True)
            if entry.get("trainable", True) is False:
                graph.update_group(g, trainable=False)
        except (ParamError, GraphError) as exc:
            raise fail(f"{where}: {exc}") from None


def _add_entry(graph: NetworkGraph, index: int, entry: Any, version: int, fail: Any,
               fill_required: bool = False) -> tuple[str, Any, str] | None:
    """Add one node entry of a project file, checking every value. Returns ``(id, the layer it shares, where)``
    for a later call of a shared layer, which the caller wires up once every layer is there."""
    where = f"nodes[{index}]"
    if not isinstance(entry, dict):
        raise fail(f"{where} must be an object")
    node_id = entry.get("id")
    if not isinstance(node_id, str) or not node_id or len(node_id) > MAX_ID_LENGTH:
        raise fail(f'{where}: "id" must be a non-empty text of at most {MAX_ID_LENGTH} characters, got {_short(node_id)}')
    where = f"node {node_id!r}"
    if node_id in graph:
        raise fail(f"{where}: the id is used by two nodes")
    layer_type = entry.get("type")
    try:
        spec = get_spec(layer_type)  # type: ignore[arg-type]
    except UnknownLayerError:
        raise fail(f"{where}: {unknown_layer_text(layer_type)}") from None
    name = entry.get("name")
    if name is not None:
        try:
            validate_name(name)
        except ParamError as exc:
            raise fail(f'{where}: "name": {exc}, got {_short(name)}') from None
    where = f"node {node_id!r} ({name})" if name else where
    params = entry.get("params", {})
    if not isinstance(params, dict):
        raise fail(f'{where}: "params" must be an object')
    position = entry.get("position", [0, 0])
    if (
        not isinstance(position, list)
        or len(position) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) < 1e9 for v in position)
    ):
        raise fail(f'{where}: "position" must be [x, y] with finite numbers, got {_short(position)}')
    try:
        canonical = spec.coerce_params(params, fill_required=fill_required)
        group, shares = (entry.get("group"), entry.get("shares")) if version >= 2 else (None, None)
        if group is not None and (not isinstance(group, str) or group not in graph.groups):
            raise fail(f'{where}: "group" {_short(group)} is not the id of a group in this file')
        if shares is not None and not isinstance(shares, str):
            raise fail(f'{where}: "shares" must be the id of a node, got {_short(shares)}')
        name_order = entry.get("name_order")
        if name_order is not None and (not isinstance(name_order, int) or isinstance(name_order, bool) or not 0 <= name_order < 2**53):
            raise fail(f'{where}: "name_order" must be a whole number from 0, got {_short(name_order)}')
        trainable = entry.get("trainable", True) if version >= 2 else True
        if not isinstance(trainable, bool):
            raise fail(f'{where}: "trainable" must be true or false, got {_short(trainable)}')
        graph.add_node(spec.type, canonical, name=name, position=(position[0], position[1]), node_id=node_id, group=group,
                       name_order=name_order, trainable=trainable)
    except (ParamError, GraphError) as exc:
        raise fail(f"{where}: {exc}") from None
    return (node_id, shares, where) if shares is not None else None



def load_project(path: str | os.PathLike[str]) -> tuple[NetworkGraph, dict[str, Any]]:
    """Read a project file. Raises `ProjectError` (one line, naming the file) for anything wrong."""
    return graph_from_dict(read_json_file(path), str(path))


KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def load_design(path: str | os.PathLike[str]) -> tuple[NetworkGraph, dict[str, Any], bool]:
    """Open whatever a user points LayerLab at: a project file, or a Keras model (imported).

    Returns ``(graph, meta, is_project)``; for a Keras model ``meta["name"]`` is the file's stem and
    ``is_project`` is False (saving must not write over the model). Raises `ProjectError` or
    `engine.keras_import.KerasImportError` with one line.
    """
    if str(path).lower().endswith(KERAS_SUFFIXES):
        from engine.keras_import import import_keras_model

        return import_keras_model(path), {"name": Path(path).stem, "description": "", "answers": {}}, False
    graph, meta = load_project(path)
    return graph, meta, True


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old content or the new, never a mix.

    A symbolic link is written through to the file it points to (the link stays a link); a target that
    exists but is not a regular file (``/dev/null``, a FIFO, a folder) is refused with `FileRefused`
    rather than replaced by a regular file. Text that cannot be encoded (lone surrogates) is refused before
    anything is written."""
    text.encode("utf-8")  # raises UnicodeEncodeError before the old file is touched
    target = Path(os.path.realpath(path))
    try:
        if not stat.S_ISREG(os.stat(target).st_mode):
            raise FileRefused(f"{path}: not a regular file (a device, a pipe or a folder); choose a file name")
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        try:  # keep the permissions of the file being replaced (mkstemp creates it 0600)
            mode = os.stat(target).st_mode & 0o777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if hasattr(os, "O_DIRECTORY"):
        try:
            dir_fd = os.open(target.parent or ".", os.O_DIRECTORY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save_project(graph: NetworkGraph, path: str | os.PathLike[str], *, name: str = "", description: str = "", answers: Mapping[str, Any] | None = None) -> None:
    """Save atomically as a version-1 project file."""
    doc = graph_to_dict(graph, name=name, description=description, answers=answers)
    atomic_write_text(path, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
