"""Files that sit beside a run's history and are never a history themselves.

A folder holds one run, so results, configs, tokenizers and notes written next to the history must
not turn "one run" into "several histories". HF's `training_args.bin` is a pickle: it is never read
(unpickling a file runs code), and its suffix keeps it out of the candidates anyway.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

SIDE_NAMES = frozenset({
    "config.json", "generation_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json",
    "vocab.txt", "merges.txt", "preprocessor_config.json", "adapter_config.json", "model.safetensors.index.json",
    "chat_template.json", "requirements.txt", "wandb-metadata.json", "wandb-summary.json",
})
"""HF model/tokenizer files, W&B run metadata and environment lists."""
_SIDE_PATTERN = re.compile(r"^(.+_results\.json|tokenizer.*|readme.*|notes?(\..*)?)$", re.IGNORECASE)
"""HF `save_metrics` output (all_results.json, eval_results.json, ...), tokenizers and a run's own notes."""


def is_side_file(path: Path) -> bool:
    """True for a file known to accompany a run (by its name), never to hold its history."""
    return path.name.lower() in SIDE_NAMES or bool(_SIDE_PATTERN.match(path.name))


def is_json_document(text: str) -> bool:
    """True for one JSON object written over several lines (a summary or config), not JSON Lines.

    JSON Lines holds one object per line; a pretty-printed object spans many and parses whole.
    """
    stripped = text.strip()
    if not stripped.startswith("{") or "\n" not in stripped:
        return False
    try:
        return isinstance(json.loads(stripped), dict)
    except (ValueError, RecursionError):
        return False
