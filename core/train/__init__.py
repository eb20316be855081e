"""Fine-tuning an image classifier on ``DATA_DIR/<class>/*.jpg`` (``wordcam train``).

::

    from core.train import train
    metrics = train("data/wards", "models/wards", task="画像から撮影場所を特定する",
                    group_by=r"place(\\d+)", balance="sampler", epochs=10)
    model = core.load_model("models/wards")

What it does differently from a plain fine-tuning script:

* the validation split can keep every *group* (e.g. all photos of one place, found by a regex
  over the relative path) on one side, stratified by class, so near-duplicate views of a place
  cannot leak from training into validation (:mod:`core.train.split`);
* ``balance`` samples classes equally (``sampler``) or weights the loss (``loss``), so a class
  that is 41% of the data does not dominate;
* photo-suited augmentation (mild RandomResizedCrop, flip, small affine/perspective, colour
  jitter; :mod:`core.train.augment`), AdamW with warm-up + cosine decay, label smoothing
  (:mod:`core.train.optim`), the best epoch on validation kept;
* photos are decoded in DataLoader worker processes (JPEGs at reduced DCT scale), unreadable
  ones skipped and reported (:mod:`core.datasets`);
* ``freeze_backbone`` trains only the head, running the backbone without gradients (and, without
  augmentation, only once: its features are cached).

Every option is a field of :class:`TrainSettings` (:mod:`core.train.settings`); the run itself
is a :class:`Trainer` (:mod:`core.train.trainer`). The model directory
(``core.models.model_dir``) gets the weights, labels, preprocessing, task, ``metrics.json`` and
``confusion_matrix.png``.
"""

from core.train.augment import train_transform
from core.train.settings import TrainSettings
from core.train.split import group_key, split_samples
from core.train.trainer import Trainer, train

__all__ = ["TrainSettings", "Trainer", "group_key", "split_samples", "train", "train_transform"]
