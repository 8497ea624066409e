"""The paper's model: preprocessing, EfficientNet features, attention-MIL, CV, Grad-CAM.

Never imports Qt (a test enforces it). Modules: ``preprocess/`` (orientation, N4, clipping,
slices, cache), ``backbones`` (the registry of backbones by name), ``backbone`` (the factory that
asks it, weights provenance, network input, self-check), ``features`` (slice encoder, feature
store), ``mil`` (the attention-MIL module), ``training`` (its scikit-learn estimator),
``classifier_params`` (its hyper-parameters: one default and one constraint each),
``constraints`` (the one parameter validator), ``tasks`` (labels and clinical inputs),
``cohort_data`` (a cohort's arrays for a task), ``cv`` and ``metrics`` (evaluation), ``run`` (the run folder), ``experiment`` (cv and
train runs), ``gradcam``, ``infer`` (scores and heatmaps into a study), ``pipeline`` (the
demo's train-then-infer), ``cli`` (``knee-model``). See docs/model.md.
"""
