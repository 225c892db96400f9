"""Imports point downward: leaf families never import layers, models or saving, etc."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "minikeras"

# module prefix -> minikeras modules it must not import
FORBIDDEN = {
    "minikeras.activations": ("minikeras.layers", "minikeras.models", "minikeras.losses", "minikeras.optimizers",
                              "minikeras.callbacks", "minikeras.saving", "minikeras.metrics"),
    "minikeras.initializers": ("minikeras.layers", "minikeras.models", "minikeras.saving", "minikeras.losses"),
    "minikeras.regularizers": ("minikeras.layers", "minikeras.models", "minikeras.saving", "minikeras.losses",
                               "minikeras.optimizers", "minikeras.callbacks", "minikeras.metrics"),
    "minikeras.constraints": ("minikeras.layers", "minikeras.models", "minikeras.saving", "minikeras.losses",
                              "minikeras.optimizers", "minikeras.callbacks", "minikeras.metrics"),
    "minikeras.losses": ("minikeras.layers", "minikeras.models", "minikeras.optimizers", "minikeras.saving",
                         "minikeras.callbacks"),
    "minikeras.optimizers": ("minikeras.layers", "minikeras.models", "minikeras.losses", "minikeras.saving",
                             "minikeras.callbacks"),
    "minikeras.layers": ("minikeras.models", "minikeras.optimizers", "minikeras.losses", "minikeras.metrics",
                         "minikeras.callbacks", "minikeras.saving"),
    "minikeras.callbacks": ("minikeras.models", "minikeras.layers", "minikeras.saving", "minikeras.optimizers"),
    "minikeras.saving": ("minikeras.models", "minikeras.layers", "minikeras.callbacks"),
    "minikeras.backend": ("minikeras.layers", "minikeras.models", "minikeras.saving", "minikeras.losses"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_imports_point_downward():
    problems = []
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        for prefix, forbidden in FORBIDDEN.items():
            if name == prefix or name.startswith(prefix + "."):
                for imported in imports_of(path):
                    if any(imported == f or imported.startswith(f + ".") for f in forbidden):
                        problems.append(f"{name} imports {imported}")
    assert problems == []


def test_import_is_light():
    code = "import sys, minikeras; print('h5py' in sys.modules, 'tqdm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent).stdout.split()
    assert out == ["False", "False"], "h5py and tqdm are imported only when needed"
