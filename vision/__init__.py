"""Camera-tunnel inspection: data layouts, a synthetic tunnel, multi-view CNNs, calibration.

Modules, from the data inwards:

* :mod:`vision.schema` — class, view, verdict and column names shared by every module;
* :mod:`vision.images` — reading one image with per-file errors;
* :mod:`vision.catalog` — what each product should look like (colour, dimensions);
* :mod:`vision.datasets` — the tunnel and class-folder layouts, torch datasets and batching;
* :mod:`vision.synthetic` — a deterministic synthetic camera tunnel rendered with numpy/PIL;
* :mod:`vision.backbones`, :mod:`vision.model` — torchvision backbones and multi-view fusion;
* :mod:`vision.augment` — label-preserving batch augmentation on the training device;
* :mod:`vision.calibration`, :mod:`vision.metrics` — thresholds for a false-reject rate, verdicts;
* :mod:`vision.heatmap`, :mod:`vision.scoring`, :mod:`vision.run` — run folders, scoring, overlays.

``training.inspect_task`` fits the model through the shared trainer;
``stockcast inspect`` drives it all.
"""
