"""Project files: round trips, atomic saves, and one-line errors for broken or hostile files."""

from __future__ import annotations

import json
import os

import pytest

from engine.analysis import analyse
from engine.graph import NetworkGraph
from engine.project import ProjectError, graph_to_dict, load_project, save_project
from tests.conftest import EXAMPLES


def _valid_doc() -> dict:
    return {
        "format": "layerlab-project",
        "version": 1,
        "nodes": [
            {"id": "n1", "type": "Input", "name": "image", "params": {"shape": [28, 28, 1]}, "position": [0, 0]},
            {"id": "n2", "type": "Conv2D", "name": "conv", "params": {"filters": 8, "kernel_size": [3, 3]}, "position": [0, 100]},
            {"id": "n3", "type": "Concatenate", "name": "cat", "params": {}, "position": [0, 200]},
        ],
        "edges": [{"source": "n2", "target": "n3", "slot": 0}, {"source": "n2", "target": "n3", "slot": 1}, {"source": "n1", "target": "n2", "slot": 0}],
    }


def test_every_bundled_example_loads_and_is_valid() -> None:
    files = sorted(EXAMPLES.glob("*.json"))
    assert len(files) >= 12
    for path in files:
        graph, meta = load_project(path)
        assert analyse(graph).is_valid, path.name
        assert meta["name"] and meta["description"], path.name


def test_save_then_load_gives_the_same_graph(tmp_path) -> None:
    graph, meta = load_project(EXAMPLES / "inception_module.json")
    path = tmp_path / "copy.json"
    save_project(graph, path, name=meta["name"])
    again, meta2 = load_project(path)
    assert graph_to_dict(again, name=meta2["name"]) == graph_to_dict(graph, name=meta["name"])
    assert analyse(again).total_params == analyse(graph).total_params


def test_file_format_is_documented_json(tmp_path) -> None:
    graph = NetworkGraph()
    a = graph.add_node("Input", {"shape": [None, 3]}, position=(1.5, 2))
    b = graph.add_node("ZeroPadding2D")
    graph.connect(a, b)
    save_project(graph, tmp_path / "p.json")
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["format"] == "layerlab-project" and doc["version"] == 1
    assert doc["nodes"][0] == {"id": a, "type": "Input", "name": "input_layer", "params": {"shape": [None, 3], "dtype": "float32"}, "position": [1.5, 2.0]}
    assert doc["nodes"][1]["params"] == {"padding": [[1, 1], [1, 1]]}
    assert doc["edges"] == [{"source": a, "target": b, "slot": 0}]


def test_slots_keep_concatenate_order_through_a_file(tmp_path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(_valid_doc()))
    graph, _ = load_project(path)
    assert [e.slot for e in graph.inputs_of("n3")] == [0, 1]
    assert analyse(graph)["n3"].shape == (26, 26, 16)


def _mutate(doc: dict, path: str, value) -> dict:
    target = doc
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is DELETE:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return doc


DELETE = object()

HOSTILE = [
    ("format", "keras", "format"),
    ("version", 99, "newer LayerLab"),
    ("version", "1", "version"),
    ("nodes", DELETE, 'missing "nodes"'),
    ("nodes", {"a": 1}, '"nodes" must be a list'),
    ("nodes.1.type", "Lambda", "node 'n2': unknown layer type 'Lambda'"),
    ("nodes.1.type", "__import__('os').system('x')", "unknown layer type"),
    ("nodes.1.params.filters", -3, "node 'n2' (conv): filters must be at least 1"),
    ("nodes.1.params.filters", 10**30, "filters must be at most"),
    ("nodes.1.params.filters", "8", "filters must be a whole number"),
    ("nodes.1.params.kernel_size", [3, 3, 3], "kernel_size must be a whole number or 2 whole numbers"),
    ("nodes.1.params.padding", None, "padding must be one of"),
    ("nodes.1.params.os", "rm -rf", "os is not a parameter of Conv2D"),
    ("nodes.1.params", [], '"params" must be an object'),
    ("nodes.1.id", "n1", "node 'n1': the id is used by two nodes"),
    ("nodes.1.id", 7, '"id" must be a non-empty text'),
    ("nodes.1.name", "a/b", '"name": a layer name must be 1 to 200 characters'),
    ("nodes.1.position", [0, 1e300], "\"position\" must be"),
    ("nodes.1.position", [0, float("inf")], "Infinity is not a valid JSON number"),
    ("nodes.1.position", "here", '"position" must be'),
    ("nodes.0.params.shape", [28, -28, 1], "shape must be a list of positive sizes"),
    ("nodes.0.params.shape", [0], "shape must be a list of positive sizes"),
    ("nodes.2.type", "Input", None),  # an Input that is wired into: loads, analysis reports it
    ("edges.0.target", "n9", "edges[0]: \"target\" 'n9' is not the id of a node"),
    ("edges.0.slot", -1, '"slot" must be a whole number'),
    ("edges.1.slot", 0, "edges[1]: input 0 of cat is already connected"),
    ("edges", "all", '"edges" must be a list'),
]


@pytest.mark.parametrize("path,value,expected", HOSTILE, ids=[f"{h[0]}={h[1]!r}"[:40] for h in HOSTILE])
def test_broken_or_hostile_files_give_one_line_errors(tmp_path, path, value, expected) -> None:
    file = tmp_path / "student.json"
    file.write_text(json.dumps(_mutate(_valid_doc(), path, value), allow_nan=True))
    if expected is None:
        graph, _ = load_project(file)
        assert "input-has-inputs" in [d.code for d in analyse(graph).diagnostics]
        return
    with pytest.raises(ProjectError) as info:
        load_project(file)
    message = str(info.value)
    assert message.startswith(str(file)) and "\n" not in message
    assert expected in message


@pytest.mark.parametrize(
    "content,expected",
    [
        (b"", "empty"),
        (b'{"format": "layerlab-project", "version": 1, "nodes": [', "not valid JSON (line 1"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2, 3]", "must hold a JSON object"),
        (b'{"format": "layerlab-project", "format": "x"}', "appears twice"),
        (b'{"format": "layerlab-project", "version": NaN}', "NaN is not a valid JSON number"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_unparseable_files(tmp_path, content: bytes, expected: str) -> None:
    file = tmp_path / "bad.json"
    file.write_bytes(content)
    with pytest.raises(ProjectError, match=expected.replace("(", r"\(")):
        load_project(file)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ProjectError, match="No such file"):
        load_project(tmp_path / "nope.json")


def test_save_is_atomic_when_interrupted(tmp_path, monkeypatch) -> None:
    path = tmp_path / "design.json"
    graph, _ = load_project(EXAMPLES / "lenet5.json")
    save_project(graph, path)
    before = path.read_bytes()
    os.chmod(path, 0o640)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("killed during save")

    monkeypatch.setattr(os, "replace", crash)
    graph.set_param(graph.find("c1"), "filters", 12)
    with pytest.raises(KeyboardInterrupt):
        save_project(graph, path)
    assert path.read_bytes() == before  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["design.json"]  # no temporary file left behind
    monkeypatch.undo()
    save_project(graph, path)
    assert load_project(path)[0].node(graph.find("c1")).params["filters"] == 12
    assert os.stat(path).st_mode & 0o777 == 0o640  # permissions of the replaced file are kept
