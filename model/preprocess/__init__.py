"""MRI preprocessing as in the paper: orientation, N4 bias field, intensity clipping, 8 slices.

One concept per module: :mod:`~model.preprocess.orientation` (reading and orienting volumes),
:mod:`~model.preprocess.n4` (the slow reference and the fast bias-field correction),
:mod:`~model.preprocess.intensity` (10th/80th percentile clipping), :mod:`~model.preprocess.slices`
(the 8 slices around the middle), :mod:`~model.preprocess.cache` (results on disk keyed by the
input's hash and the parameters) and :mod:`~model.preprocess.pipeline` (all steps in order).
"""
