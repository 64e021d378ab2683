"""The layers below the UI must never pull in Qt (DESIGN.md, "Layers and data flow")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "nursestation"


def _modules(layer: str) -> list[str]:
    out = []
    for path in sorted((PKG / layer).rglob("*.py")):
        if "migrations" in path.parts and path.name != "__init__.py":
            continue
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append(".".join(parts))
    return out


@pytest.mark.parametrize("layer", ["core", "devices", "db", "record"])
def test_layer_imports_no_qt(layer):
    """Import every module of the layer in a fresh interpreter; none may load Qt or pyqtgraph,
    directly or through another module."""
    modules = _modules(layer)
    assert modules, f"no modules found in nursestation/{layer}"
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in "
        "('PySide6', 'shiboken6', 'pyqtgraph', 'PyQt5', 'PyQt6'))\n"
        "print('\\n'.join(bad))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "", (
        f"nursestation.{layer} pulled in Qt modules: {res.stdout.split()[:5]}"
    )
