"""Loading a function of `lambda/` in a test: `lambda` is a keyword, so its folders are not packages."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

LAMBDA_DIR = Path(__file__).resolve().parent.parent / "lambda"


def load_function(name: str) -> ModuleType:
    """`lambda/<name>/index.py` as the module `<name>_index` (loaded once per process), with `lambda/`
    on sys.path for the package the database functions share (`pg_common`), as in their assets."""
    module_name = f"{name}_index"
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.append(str(LAMBDA_DIR))
    if module_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(module_name, LAMBDA_DIR / name / "index.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    return sys.modules[module_name]
