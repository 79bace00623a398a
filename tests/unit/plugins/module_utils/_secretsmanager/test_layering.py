# Copyright: contributors to secretsops.aws
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guards of the code's shape, read from the source with ``ast``:

- the pure files of the domain layer (and the lookup's pure helpers) never import botocore or
  boto3, nor the layer's AWS side (``api``, ``reconcile``, ``bulk``, ``module``), and they
  import in a fresh interpreter in which botocore and boto3 cannot be imported at all;
- no function in ``plugins/`` is longer than 60 lines, no file in ``plugins/module_utils/``
  longer than 450 lines.
"""
import ast
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[5]  # tests/unit/plugins/module_utils/_secretsmanager/
PLUGINS = ROOT / "plugins"
PACKAGE = "ansible_collections.secretsops.aws.plugins.module_utils._secretsmanager"
LAYER = PLUGINS / "module_utils" / "_secretsmanager"
PURE = {
    f"{PACKAGE}.errors": LAYER / "errors.py",
    f"{PACKAGE}.values": LAYER / "values.py",
    f"{PACKAGE}.desired": LAYER / "desired.py",
    f"{PACKAGE}.plan": LAYER / "plan.py",
    f"{PACKAGE}.versions": LAYER / "versions.py",
    "ansible_collections.secretsops.aws.plugins.plugin_utils._terms": PLUGINS / "plugin_utils" / "_terms.py",
}
AWS_SIDE = ("api", "reconcile", "bulk", "module")
MAX_FUNCTION_LINES = 60
MAX_MODULE_UTILS_FILE_LINES = 450


def test_the_checkout_is_found():
    assert (PLUGINS / "module_utils" / "_secretsmanager" / "__init__.py").is_file(), ROOT


def imported_modules(path):
    """Every module name an ``import`` / ``from ... import`` in ``path`` may load (a
    ``from package import name`` also yields ``package.name``), wherever the import is."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.append(base)
            names.extend(f"{base}.{alias.name}" if base.strip(".") else base + alias.name for alias in node.names)
    return names


def forbidden(name):
    top = name.split(".")[0]
    if top in ("botocore", "boto3"):
        return True
    if name.startswith("."):  # relative import inside the package
        return name.strip(".").split(".")[0] in AWS_SIDE
    return any(name == f"{PACKAGE}.{part}" or name.startswith(f"{PACKAGE}.{part}.") for part in AWS_SIDE)


@pytest.mark.parametrize("module", sorted(PURE))
def test_pure_files_import_no_sdk_and_no_aws_side(module):
    bad = [name for name in imported_modules(PURE[module]) if forbidden(name)]
    assert bad == [], f"{PURE[module].name} imports {bad}"


@pytest.mark.parametrize("name, bad", [
    ("botocore", True), ("botocore.exceptions", True), ("boto3", True), (f"{PACKAGE}.api", True),
    (f"{PACKAGE}.bulk", True), (".reconcile", True), (f"{PACKAGE}.values", False), ("json", False),
    ("ansible_collections.amazon.aws.plugins.module_utils.tagging", False), (f"{PACKAGE}.modules_x", False),
])
def test_forbidden(name, bad):
    assert forbidden(name) is bad


def test_imported_modules_sees_nested_and_from_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("def f():\n    import botocore.exceptions\nfrom a.b import c\nfrom . import api\n")
    assert sorted(imported_modules(source)) == [".", ".api", "a.b", "a.b.c", "botocore.exceptions"]


def test_pure_files_import_without_botocore():
    script = "\n".join([
        "import sys",
        "sys.modules['botocore'] = None",
        "sys.modules['boto3'] = None",
        *[f"import {module}" for module in sorted(PURE)],
        f"loaded = sorted(m for m in sys.modules if m.startswith('{PACKAGE}.'))",
        "print('\\n'.join(loaded))",
    ])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = done.stdout.split()
    assert not [m for m in loaded if m.rsplit(".", 1)[-1] in AWS_SIDE], loaded


# -- size ----------------------------------------------------------------------------------------------
def python_files(top):
    return sorted(path for path in top.rglob("*.py") if "__pycache__" not in path.parts)


def test_no_function_in_plugins_is_longer_than_60_lines():
    too_long = []
    for path in python_files(PLUGINS):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}() {length} lines")
    assert too_long == [], "\n".join(too_long)


def test_no_file_in_module_utils_is_longer_than_450_lines():
    too_long = []
    for path in python_files(PLUGINS / "module_utils"):
        length = len(path.read_text(encoding="utf-8").splitlines())
        if length > MAX_MODULE_UTILS_FILE_LINES:
            too_long.append(f"{path.relative_to(ROOT)} {length} lines")
    assert too_long == [], "\n".join(too_long)
