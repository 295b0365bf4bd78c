"""What a shipped model's card says of its training, in one line (``motionmag methods``).

What matters: the numbers come from the card written when the weights were shipped
(``benchmarks/ship_weights.py``, ``benchmarks/known_answers.py``), never from text kept by
hand, so the listing cannot drift from the weights:

- samples seen in training (``training.samples_seen``);
- validation SSIM on the held-out synthetic pairs against the input's own
  (``metrics.validation``; Oh et al.'s 128 px set, higher is better);
- the gain measured on a real photo moved 0.3 px, static mode at alpha 10
  (``known_answers.static_gain``; the goal is 8.5-11.5).
"""

from __future__ import annotations


def _samples(count: float) -> str:
    if count >= 1e6:
        return f"{count / 1e6:.1f}M"
    if count >= 1e3:
        return f"{count / 1e3:.0f}k"
    return f"{count:.0f}"


def card_summary(card: dict | None) -> str:
    """``"40k samples, validation SSIM 0.703 (input 0.617), x3.1 for x10"``, with the
    parts the card has (an empty string without a card)."""
    if not card:
        return ""
    parts = []
    samples = (card.get("training") or {}).get("samples_seen")
    if isinstance(samples, int | float):
        parts.append(f"{_samples(samples)} samples")
    validation = (card.get("metrics") or {}).get("validation") or {}
    if isinstance(validation.get("ssim"), int | float):
        text = f"validation SSIM {validation['ssim']:.3f}"
        if isinstance(validation.get("input_ssim"), int | float):
            text += f" (input {validation['input_ssim']:.3f})"
        parts.append(text)
    known = card.get("known_answers") or {}
    gain, alpha = known.get("static_gain"), known.get("alpha")
    if isinstance(gain, int | float) and isinstance(alpha, int | float):
        parts.append(f"x{gain:.1f} for x{alpha:g}")
    return ", ".join(parts)
