"""DeepMag's colour CNN (Chen and McDuff 2018, Fig. 3a): X(t), 36 x 36 x 3 -> dp/dt.

What matters: the network must be differentiable in its *input* with gradients that do
not vanish when the input grows, because magnification is gradient ascent on ``|y(X)|``
in the input space (Sec. 3.1-3.2). So, as the paper says, convolutions of stride 1,
2 x 2 average pooling and ReLU everywhere, no tanh or sigmoid (a bounded activation would
cap how far ``X`` can be pushed), no batch normalisation (frames must stay independent
so that one backward pass gives every frame's own gradient). The output is linear
(a signed derivative).

Layer sizes. The paper's text gives only the layer types; the figure (not in our text
copy) follows the motion branch of DeepPhys (Chen and McDuff 2018, ECCV), whose sizes we
take: two 3 x 3 convolutions with 32 channels, average pooling, two 3 x 3 convolutions
with 64 channels, average pooling, a dense layer of 128 units, one output. Our choices:
"valid" convolutions (no padding: 36 -> 34 -> 32 -> 16 -> 14 -> 12 -> 6), no dropout
(the training data are generated fresh, see :mod:`.train`), and a fixed input scale
``x / input_std`` (a buffer saved with the weights: the normalised difference has a
standard deviation of about 1e-2, which a network trained with Adam handles best at
unit scale; DeepPhys likewise divides its input by its standard deviation).
Parameters: 3.6e5 (1.4 MB in float32).
"""

from __future__ import annotations

import torch
from torch import nn

from .representations import SIZE_PX


class DeepMagColorNet(nn.Module):
    """Pulse-derivative predictor of DeepMag's colour path.

    Args:
        in_channels: colour channels of X (3).
        size_px: side of X in px (36); must leave a positive size after the layers.
        widths: channels of the two convolution pairs.
        hidden: units of the dense layer.
        input_std: the input is divided by this before the first layer (dimensionless).

    Input: float (N, 3, 36, 36) normalised frame differences (Eq. 15).
    Output: float (N,) the predicted pulse derivative, in units of the training target
    (per-video standardised ``dp/dt``).
    """

    def __init__(
        self,
        in_channels: int = 3,
        size_px: int = SIZE_PX,
        widths: tuple[int, int] = (32, 64),
        hidden: int = 128,
        input_std: float = 1.0,
    ) -> None:
        super().__init__()
        w1, w2 = widths
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, w1, 3),
            nn.ReLU(),
            nn.Conv2d(w1, w1, 3),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Conv2d(w1, w2, 3),
            nn.ReLU(),
            nn.Conv2d(w2, w2, 3),
            nn.ReLU(),
            nn.AvgPool2d(2),
        )
        side = ((size_px - 4) // 2 - 4) // 2
        if side < 1:
            raise ValueError(f"input size {size_px} px is too small for the network")
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(w2 * side * side, hidden), nn.ReLU(), nn.Linear(hidden, 1)
        )
        self.register_buffer("input_std", torch.tensor(float(input_std)))
        self.config = {
            "in_channels": in_channels,
            "size_px": size_px,
            "widths": [w1, w2],
            "hidden": hidden,
            "input_std": float(input_std),
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x / self.input_std)).squeeze(1)


class DeepMagMotionNet(nn.Module):
    """Respiration-derivative predictor of DeepMag's motion path (Fig. 3b).

    The paper: deeper than the colour net because its input is larger (123 x 123 x 4
    phase differences, Sec. 5.2), the same convolutions (stride 1) and 2 x 2 average
    pooling, SELU instead of ReLU (ReLU units died in their training). Sizes are ours
    (the figure is not in our text copy): three pairs of valid 3 x 3 convolutions with
    ``widths`` channels, each pair followed by pooling (123 -> 59 -> 27 -> 11), a dense
    layer of ``hidden`` units and one linear output; input divided by ``input_std``.

    Input: float (N, orientations, size_px, size_px) phase differences in rad per frame
    (Eq. 20). Output: (N,) the predicted respiration derivative (training-target units).
    """

    def __init__(
        self,
        orientations: int = 4,
        size_px: int = 123,
        widths: tuple[int, int, int] = (32, 32, 64),
        hidden: int = 128,
        input_std: float = 1.0,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels, side = orientations, size_px
        for width in widths:
            layers += [nn.Conv2d(channels, width, 3), nn.SELU(), nn.Conv2d(width, width, 3)]
            layers += [nn.SELU(), nn.AvgPool2d(2)]
            channels, side = width, (side - 4) // 2
        if side < 1:
            raise ValueError(f"input size {size_px} px is too small for the network")
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * side * side, hidden), nn.SELU(), nn.Linear(hidden, 1)
        )
        self.register_buffer("input_std", torch.tensor(float(input_std)))
        self.config = {
            "orientations": orientations,
            "size_px": size_px,
            "widths": list(widths),
            "hidden": hidden,
            "input_std": float(input_std),
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x / self.input_std)).squeeze(1)
