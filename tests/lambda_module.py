"""Loading a function of `lambda/` in a test: `lambda` is a keyword, so its folders are not packages."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FakeLambdaContext:
    """What Powertools' Logger reads from the Lambda context (``inject_lambda_context``), and the time left."""

    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_stream_name: str = "2026/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000
