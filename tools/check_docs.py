#!/usr/bin/env python
"""Parse DOCUMENTATION/EXAMPLES/RETURN of every plugin as YAML (fast pre-check before ansible-doc)."""
import ast
import pathlib
import sys

import yaml

bad = 0
for path in sorted(pathlib.Path("plugins").glob("*/*.py")):
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
            try:
                yaml.safe_load(node.value.value)
            except yaml.YAMLError as exc:
                bad += 1
                print(f"{path}: {node.targets[0].id}: {exc}")
sys.exit(1 if bad else 0)
