"""Every published number is rendered from the results files: the docs agree with them, and a changed number
in any results file makes the check fail, naming the place."""

from __future__ import annotations

import json
import shutil

import report


def test_the_docs_and_the_card_say_what_the_results_say(capsys):
    assert report.main(["--check"]) == 0, capsys.readouterr().err


def _numbers(node, path=()):
    if isinstance(node, bool):
        return
    if isinstance(node, (int, float)):
        yield path
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _numbers(v, (*path, k))


def _published() -> list[tuple[str, tuple]]:
    """(results file, path) of every number a document or the card shows by value."""
    out = []
    texts = [p.read_text() for p in report.DOCUMENTS] + [json.dumps([row[3] for row in report.CARD])]
    for text in texts:
        for spec in [m["spec"] for m in report.VALUE.finditer(text)] + __import__("re").findall(
            r"\{([^{}|]+:[^{}|]+)\|", text
        ):
            name, _, dotted = spec.partition("|")[0].partition(":")
            out.append((name, tuple(dotted.split("."))))
    return out


def _scaled(node):
    """Every number of a JSON value changed."""
    if isinstance(node, bool) or not isinstance(node, (int, float, dict, list)):
        return node
    if isinstance(node, dict):
        return {k: _scaled(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_scaled(v) for v in node]
    return node * 1.37 + 11


def test_a_changed_value_fails_the_check(tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(report.RESULTS, results)

    def leaf(data, path):
        node = data
        for key in path[:-1]:
            node = node[key]
        return node

    # The first published number (the docs also show text values: the CPU, torch's version).
    name, path = next(
        (n, p)
        for n, p in _published()
        if isinstance(leaf(json.loads((results / f"{n}.json").read_text()), p)[p[-1]], (int, float))
    )
    data = json.loads((results / f"{name}.json").read_text())
    node = leaf(data, path)
    node[path[-1]] = type(node[path[-1]])(node[path[-1]] * 1.37 + 11)  # an int stays an int (format "d")
    (results / f"{name}.json").write_text(json.dumps(data))
    assert report.main(["--check", "--results", str(results)]) == 1
    assert f"value {name}:" in capsys.readouterr().err


def test_changed_numbers_in_a_table_fail_the_check(tmp_path, capsys):
    results = tmp_path / "results"
    shutil.copytree(report.RESULTS, results)
    text = next(p.read_text() for p in report.DOCUMENTS if report.BLOCK.search(p.read_text()))
    block = report.BLOCK.search(text)["name"]
    name = block.split(":")[0]
    data = json.loads((results / f"{name}.json").read_text())
    (results / f"{name}.json").write_text(json.dumps({**data, "results": _scaled(data["results"])}))
    assert report.main(["--check", "--results", str(results)]) == 1
    assert f"block {block} differs" in capsys.readouterr().err
