"""DeepMag (Chen and McDuff 2018): magnify one source signal by gradient ascent through a predictor.

What matters: a CNN trained to predict the derivative of a target signal (pulse, breathing)
from a motion representation is frozen, and the representation itself is pushed along the
gradient of the prediction's magnitude (Algorithm 1, with the paper's L1 normalisation and
sign correction), so only what the CNN attributes to the target is magnified, even when
head motion shares its frequency band. The change is band-passed over the whole clip
(zero-phase), so these are whole-clip methods, not streaming ones.

Modules: ``representations`` (normalised frame difference, Eq. 15-18), ``nets`` (the
colour and motion CNNs), ``magnify`` (Algorithm 1, colour path), ``motion`` (phase path,
Eq. 20-23), ``calibration`` (alpha -> N, gamma), ``train`` and ``cli_train`` (training on
synthetic physiological videos), ``method`` (the ``deepmag-color`` stream magnifier).
"""
