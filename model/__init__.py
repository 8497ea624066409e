"""The paper's model: preprocessing, EfficientNet features, attention-MIL, CV, Grad-CAM.

Never imports Qt (a test enforces it).
"""
