"""The small data set and the linear Lightning classifier that writers.py and trainers.py both train.

Both scripts run as their own processes (`python writers.py …`, `python trainers.py …`), so this module is
imported from their folder; frameworks are imported inside the functions, as in the scripts.
"""

from __future__ import annotations

from typing import Any


def classification_data(n: int = 256, features: int = 8) -> tuple[Any, Any]:
    """A fixed, learnable two-class problem: features and int64 labels."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.8, size=n) > 0).astype("int64")
    return x, y


def lightning_classifier(features: int) -> Any:
    """A LightningModule class logging train_loss (per epoch), val_loss and val_acc, with plain SGD.

    Subclasses call `self.save_hyperparameters()` in their own `__init__` (so hparams.yaml holds their
    arguments) and override `validated(accuracy)`, called after each real validation epoch.
    """
    import lightning as L
    import torch

    class Classifier(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(features, 2)

        def training_step(self, batch: Any, _: int) -> Any:
            loss = torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])
            self.log("train_loss", loss, on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch: Any, _: int) -> None:
            logits = self.net(batch[0])
            self.log("val_loss", torch.nn.functional.cross_entropy(logits, batch[1]))
            self.log("val_acc", (logits.argmax(1) == batch[1]).float().mean())

        def on_validation_epoch_end(self) -> None:
            if not self.trainer.sanity_checking:
                self.validated(float(self.trainer.callback_metrics["val_acc"]))

        def validated(self, accuracy: float) -> None:
            """After each validation epoch (not the sanity check)."""

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    return Classifier


def tiny_bert() -> tuple[Any, Any, Any]:
    """A randomly initialised two-layer BERT (no download), a maker of n labelled rows for it, and the accuracy
    that Trainer's compute_metrics returns. The label is whether the first token id is above 34."""
    import numpy as np
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=32, num_labels=2)
    rng = np.random.default_rng(0)

    def rows(n: int) -> list[dict[str, Any]]:
        ids = rng.integers(5, 64, size=(n, 16))
        return [{"input_ids": torch.tensor(i), "attention_mask": torch.ones(16, dtype=torch.long),
                 "labels": torch.tensor(int(i[0] > 34))} for i in ids]

    def accuracy(prediction: Any) -> dict[str, float]:
        return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}

    return BertForSequenceClassification(config), rows, accuracy
