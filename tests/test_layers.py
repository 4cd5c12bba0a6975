"""The packages of app/ import one way: core < offices < calendar < sla < inquiries <
the packages above them (channels, evaluation, ...), which never import each other <
privacy, whose export and erasure reach the data of all of them."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
RANK = {"core": 0, "offices": 1, "calendar": 2, "sla": 3, "inquiries": 4}
TOP = 5  # every other package, side by side
RANK["privacy"] = TOP + 1


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _violations(root: Path = APP) -> set[tuple[str, str]]:
    found = set()
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if len(parts) < 2:
            continue  # app/main.py, app/cli.py, app/models.py assemble everything
        package = parts[0]
        mine = RANK.get(package, TOP)
        for module in _imports(path):
            names = module.split(".")
            if names[0] != "app" or len(names) < 2 or names[1] == package:
                continue
            theirs = RANK.get(names[1], TOP)
            if theirs > mine or (mine == TOP and theirs == TOP):
                found.add(("/".join(parts), module))
    return found


def test_no_module_imports_from_a_package_above_or_beside_it() -> None:
    found = _violations()
    assert not found, f"imports against the layering: {sorted(found)}"


def test_the_check_finds_an_upward_import(tmp_path: Path) -> None:
    (tmp_path / "calendar").mkdir()
    (tmp_path / "calendar" / "bad.py").write_text("from app.inquiries.models import Inquiry\n")
    (tmp_path / "channels").mkdir()
    (tmp_path / "channels" / "beside.py").write_text("import app.evaluation.models\n")
    (tmp_path / "inquiries").mkdir()
    (tmp_path / "inquiries" / "fine.py").write_text("from app.sla.engine import compute_due\n")
    assert _violations(tmp_path) == {
        ("calendar/bad.py", "app.inquiries.models"),
        ("channels/beside.py", "app.evaluation.models"),
    }


def test_the_walk_finds_upward_and_sideways_imports(tmp_path: Path) -> None:
    # The check itself, on a small tree: a lower package importing a higher one, and two
    # top packages importing each other, are found; a downward import is not.
    for package, source in {
        "core": "from app.channels.worker import Worker\n",
        "channels": "import app.evaluation.models\nfrom app.inquiries.models import Inquiry\n",
        "evaluation": "from app.sla.engine import due_at\n",
    }.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "module.py").write_text(source)
    assert _violations(tmp_path) == {
        ("core/module.py", "app.channels.worker"),
        ("channels/module.py", "app.evaluation.models"),
    }
