"""The paper's attention-MIL classifier (its Fig. 3), as a PyTorch module.

Attention sub-model: a 1-D convolution along the slice axis over the per-slice feature
vectors, then a GRU giving one score per slice; a softmax over the slices turns the scores
into attention weights in [0, 1] that sum to 1. Classification sub-model: the attention-
weighted mean of the slice features, the standardised clinical variables concatenated
(F + K; F = 1280 for EfficientNet), an MLP with two hidden ReLU layers, and class logits (softmax -> probabilities).

The standardisation of the slice features and of the clinical variables (means and standard
deviations learned by the estimator on the training data) lives in the module as buffers,
and missing clinical values (NaN) become 0 after standardisation (the training mean), so the
module alone maps raw inputs to probabilities (Grad-CAM needs that).
"""

from __future__ import annotations

import torch
from torch import nn

from model.classifier_params import DEFAULTS


class SliceConv1d(nn.Module):
    """A kernel-3, zero-padded 1-D convolution along the slice axis of (B, N, F) -> (B, N, O).

    Identical to ``nn.Conv1d(F, O, 3, padding=1)`` on ``x.transpose(1, 2)``, computed as one
    matrix product ``x @ W`` (F -> 3 O) followed by shifted sums: several times faster on
    CPUs for the short slice axis (N = 8) and wide features (F = 1280) of this model.
    """

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.n_out = n_out
        self.linear = nn.Linear(n_in, 3 * n_out, bias=False)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = torch.matmul(x, self.linear.weight.t())  # (B, N, 3 O)
        prev, mid, nxt = z.split(self.n_out, dim=-1)
        out = mid.clone()
        out[:, 1:] += prev[:, :-1]  # tap on slice n - 1
        out[:, :-1] += nxt[:, 1:]  # tap on slice n + 1
        return out + self.bias


class AttentionMIL(nn.Module):
    """Bag of slice features + clinical variables -> class logits.

    Parameters
    ----------
    n_features : F, features per slice: the backbone's ``num_features`` (1280 for
        EfficientNet-B0/Lite0; :attr:`model.backbone.Provenance.n_features`).
    n_clinical : K, clinical variables (0 for none).
    n_classes : C.
    conv_channels, gru_hidden : width of the attention sub-model.
    mlp_hidden : sizes of the two hidden layers of the MLP.
    dropout : dropout before each MLP layer.

    The keyword defaults are the classifier's (:data:`model.classifier_params.DEFAULTS`).
    """

    def __init__(
        self,
        n_features: int,
        n_clinical: int = 6,
        n_classes: int = 2,
        *,
        conv_channels: int = DEFAULTS["conv_channels"],
        gru_hidden: int = DEFAULTS["gru_hidden"],
        mlp_hidden: tuple[int, int] = DEFAULTS["mlp_hidden"],
        dropout: float = DEFAULTS["dropout"],
    ) -> None:
        super().__init__()
        self.n_features, self.n_clinical, self.n_classes = n_features, n_clinical, n_classes
        self.conv = SliceConv1d(n_features, conv_channels)
        self.gru = nn.GRU(conv_channels, gru_hidden, batch_first=True, bidirectional=True)
        self.score = nn.Linear(2 * gru_hidden, 1)
        h1, h2 = mlp_hidden
        self.mlp = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(n_features + n_clinical, h1),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(h1, h2),
            nn.ReLU(),
            nn.Linear(h2, n_classes),
        )
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        self.register_buffer("clinical_mean", torch.zeros(n_clinical))
        self.register_buffer("clinical_std", torch.ones(n_clinical))

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, F) raw slice features -> (B, N) attention weights (softmax over N)."""
        return self._attention((x - self.feature_mean) / self.feature_std)

    def _attention(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(x))  # (B, N, conv)
        h, _ = self.gru(h)  # (B, N, 2 * gru_hidden)
        return torch.softmax(self.score(h).squeeze(-1), dim=1)

    def standardise(self, clinical: torch.Tensor) -> torch.Tensor:
        """(B, K) raw clinical values (NaN = missing) -> standardised, missing -> 0."""
        z = (clinical - self.clinical_mean) / self.clinical_std
        return torch.nan_to_num(z, nan=0.0)

    def forward(
        self, x: torch.Tensor, clinical: torch.Tensor | None = None, *, return_attention: bool = False
    ):
        """Logits (B, C) from slice features ``x`` (B, N, F) and raw ``clinical`` (B, K).

        With ``return_attention`` also the attention weights (B, N).
        """
        x = (x - self.feature_mean) / self.feature_std
        a = self._attention(x)
        pooled = torch.einsum("bn,bnf->bf", a, x)
        if self.n_clinical:
            if clinical is None:
                raise ValueError(f"this model needs {self.n_clinical} clinical variables")
            pooled = torch.cat([pooled, self.standardise(clinical.float())], dim=1)
        logits = self.mlp(pooled)
        return (logits, a) if return_attention else logits
