"""The real-client suite: needs the heavy libraries of the `test-clients` extra (make test-clients).

In the light test venv none of them is installed and the suite is not collected; in .venv-clients the
end of the test output names every library version the runs were written with (also under -q).
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import PackageNotFoundError, version
from typing import Any

LIBRARIES = ("mlflow", "torch", "tensorboard", "tensorboardX", "lightning", "transformers", "keras", "tensorflow-cpu",
             "wandb")
_MODULES = ("mlflow", "torch", "tensorboardX", "lightning", "transformers", "keras", "wandb")

collect_ignore_glob = [] if any(importlib.util.find_spec(m) for m in _MODULES) else ["test_*.py"]


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line("client libraries: " + ", ".join(f"{name} {_version(name)}" for name in LIBRARIES))
