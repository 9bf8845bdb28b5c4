"""Config files that sit beside a history: Lightning hparams.yaml, Ultralytics args.yaml, YOLOv5 opt.yaml and
hyp.yaml, mmengine config.py (its planned epochs and its EarlyStoppingHook, as `EarlyStoppingHook.patience`...).

They give the hyperparameters shown in the report and, where they say it, the planned length. A nested YAML
(Lightning's `optimizer: {lr: ..}`, `trainer: {callbacks: [..]}`; YOLOv5's `hyp:` inside opt.yaml) is read
flattened: `optimizer.lr`, `trainer.callbacks.0.init_args.patience`, the dotted key naming what the user edits.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from reporter.errors import ConfigError
from reporter.model import SECTION, Plan, Source, config_keys
from reporter.report.ingest.files import read_text

YAML_FILES = ("hparams.yaml", "args.yaml", "config.yaml", "opt.yaml", "hyp.yaml")
"""YOLOv5 writes its options (epochs, patience) to opt.yaml and its hyperparameters (lr0, weight_decay, mosaic, ...)
to hyp.yaml."""
PYTHON_TAG = "tag:yaml.org,2002:python/"
"""PyYAML's tags for Python objects: Lightning's yaml.dump writes them for paths, optimizer classes, namespaces."""
_PATHS = {"pathlib.Path": PurePosixPath, "pathlib.PosixPath": PurePosixPath, "pathlib.PurePosixPath": PurePosixPath,
          "pathlib.WindowsPath": PureWindowsPath, "pathlib.PureWindowsPath": PureWindowsPath}
PLAN_KEYS = ("epochs", "max_epochs", "num_train_epochs", "num_epochs", "n_epochs")
_MMENGINE_EPOCHS = re.compile(r"max_epochs\s*=\s*(\d+)")
VIS_DATA = "vis_data"
MMENGINE_CONFIG = f"{VIS_DATA}/config.py"
"""mmengine dumps the run's config beside its vis_data json; only there is a config.py the run's."""
HOOK = "EarlyStoppingHook"


def read_sidecars(directory: Path) -> tuple[dict[str, Any], Plan | None, list[Source]]:
    """Hyperparameters, a plan if one is stated, and the files read.

    Raises:
        ConfigError: a sidecar YAML that does not parse.
    """
    hyperparameters: dict[str, Any] = {}
    plan, sources = None, []
    for name in YAML_FILES:
        path = directory / name
        if not path.is_file():
            continue
        import yaml  # only when a run has a sidecar: PyYAML is 10 ms of every other report's start

        file = read_text(path, ConfigError)
        try:
            data = yaml.load(file.text, Loader=_sidecar_loader())  # a SafeLoader: it constructs no Python object
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
        sources.append(Source(name, "config", file.sha256, file.size))
        if isinstance(data, dict):
            values = flatten(data)
            hyperparameters.update(values)
            epochs = next((values[k] for k in config_keys(values, PLAN_KEYS) if _count(values[k])), None)
            plan = plan or (Plan(epochs=epochs, basis="config", params={"file": name}) if epochs else None)
    config = (directory.parent if directory.name == VIS_DATA else directory) / MMENGINE_CONFIG
    if config.is_file():
        file = read_text(config, ConfigError)
        hook = early_stopping_hook(file.text)
        hyperparameters.update({f"{HOOK}{SECTION}{k}": v for k, v in hook.items()})
        match = _MMENGINE_EPOCHS.search(file.text)
        if match and plan is None:
            plan = Plan(epochs=int(match.group(1)), basis="config", params={"file": MMENGINE_CONFIG})
        if match or hook:
            sources.append(Source(MMENGINE_CONFIG, "config", file.sha256, file.size))
    return hyperparameters, plan, sources


def early_stopping_hook(text: str) -> dict[str, Any]:
    """The literal settings of mmengine's EarlyStoppingHook in a dumped config.py (`dict(type='EarlyStoppingHook',
    monitor=..., patience=...)` in custom_hooks or default_hooks), read from its syntax tree: nothing is run.
    Empty when the config has no such hook or does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
            settings = {k.arg: _literal(k.value) for k in node.keywords if k.arg}
            if settings.get("type") == HOOK:
                return {k: v for k, v in settings.items() if k != "type" and isinstance(v, (int, float, str, bool))}
    return {}


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None


def flatten(data: dict[Any, Any], prefix: str = "") -> dict[str, Any]:
    """The scalars of a nested config under dotted keys; mappings inside lists (Lightning's callbacks) by their
    position. Lists of scalars are left out, as at the top level."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + SECTION))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    flat.update(flatten(item, f"{name}{SECTION}{index}{SECTION}"))
        elif isinstance(value, (int, float, str, bool)):
            flat[name] = value
    return flat


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@cache
def _sidecar_loader() -> type:
    """PyYAML's SafeLoader that reads a python tag as the text it names instead of refusing the whole file.

    Nothing is imported or constructed: `!!python/name:torch.optim.adam.Adam ''` reads as
    "torch.optim.adam.Adam", a pathlib path as the path it spells, any other object as its class's name.
    """
    import yaml

    class SidecarLoader(yaml.SafeLoader):
        pass

    SidecarLoader.add_multi_constructor(PYTHON_TAG, _python_value)
    return SidecarLoader


def _python_value(loader: Any, suffix: str, node: Any) -> object:
    """The readable text of a python-tagged node: the dotted name it names, or the path for a pathlib object."""
    import yaml

    kind, _, name = suffix.partition(":")
    if kind in ("name", "module") or isinstance(node, yaml.MappingNode):
        return name or kind
    if isinstance(node, yaml.SequenceNode):
        items = loader.construct_sequence(node, deep=True)
        if name in _PATHS and all(isinstance(item, str) for item in items):
            return str(_PATHS[name](*items))
        return name or items  # python/tuple has no name: its items
    return loader.construct_scalar(node)  # python/str, python/int, ...: the text as written
