"""Config files that sit beside a history: Lightning hparams.yaml, Ultralytics args.yaml, mmengine config.py.

They give the hyperparameters shown in the report and, where they say it, the planned length.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reporter.errors import ConfigError
from reporter.model import Plan, Source
from reporter.report.ingest.files import read_text

YAML_FILES = ("hparams.yaml", "args.yaml", "config.yaml")
PLAN_KEYS = ("epochs", "max_epochs", "num_train_epochs", "num_epochs", "n_epochs")
_MMENGINE_EPOCHS = re.compile(r"max_epochs\s*=\s*(\d+)")


def read_sidecars(directory: Path) -> tuple[dict[str, Any], Plan | None, list[Source]]:
    """Hyperparameters, a plan if one is stated, and the files read.

    Raises:
        ConfigError: a sidecar YAML that does not parse.
    """
    import yaml

    hyperparameters: dict[str, Any] = {}
    plan, sources = None, []
    for name in YAML_FILES:
        path = directory / name
        if not path.is_file():
            continue
        file = read_text(path, ConfigError)
        try:
            data = yaml.safe_load(file.text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
        sources.append(Source(name, "config", file.sha256, file.size))
        if isinstance(data, dict):
            hyperparameters.update({str(k): v for k, v in data.items() if isinstance(v, (int, float, str, bool))})
            epochs = next((data[k] for k in PLAN_KEYS if isinstance(data.get(k), int) and data[k] > 0), None)
            plan = plan or (Plan(epochs=epochs, basis="config", params={"file": name}) if epochs else None)
    config = directory / "vis_data" / "config.py"
    if config.is_file() and plan is None:
        file = read_text(config, ConfigError)
        if match := _MMENGINE_EPOCHS.search(file.text):
            plan = Plan(epochs=int(match.group(1)), basis="config", params={"file": "vis_data/config.py"})
            sources.append(Source("vis_data/config.py", "config", file.sha256, file.size))
    return hyperparameters, plan, sources
