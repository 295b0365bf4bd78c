"""The examples at the end of each command's ``--help``, and the help formatter.

What matters: a first-time user reads ``motionmag COMMAND --help`` before the README,
so each command ends with two or three commands that work as written (file names are
placeholders: your video), taken from the README's typical session; and help text never
breaks a line inside a flag or a name at its hyphen (``--no-`` / ``realtime``).
"""

from __future__ import annotations

import argparse
import textwrap

#: the typical session (README "Command line"), after ``motionmag --help``
SESSION = """\
a typical session (your video in place of baby.mp4):
  motionmag spectrum baby.mp4 --roi 200 150 120 80 -o spectrum.png
  motionmag magnify baby.mp4 -o x20.mp4 --alpha 20 --band 0.3 0.6
  motionmag slice baby.mp4 x20.mp4 --x 260 -o slices.png
  motionmag measure baby.mp4 x20.mp4 --roi 200 150 120 80 --band 0.3 0.6
a sample clip to try it on: motionmag demo"""

#: per command: examples (placeholders: your files); every line under 80 columns
EXAMPLES = {
    "magnify": """\
examples:
  motionmag magnify baby.mp4 -o x20.mp4 --alpha 20 --band 0.3 0.6
  motionmag magnify beam.mp4 -o x10.mp4 --method phase --stabilize
  motionmag magnify face.mp4 -o pulse.mp4 --method deepmag-color --alpha 3
  motionmag magnify in.mp4 -o cmp.mp4 --band 0.3 0.6 --side-by-side --end 10""",
    "methods": """\
examples:
  motionmag methods
  motionmag methods --json""",
    "slice": """\
examples:
  motionmag slice baby.mp4 x20.mp4 --x 260 -o slices.png  # y-t: a column
  motionmag slice beam.mp4 x10.mp4 --y 120 -o slices.png  # x-t: a row""",
    "spectrum": """\
examples:
  motionmag spectrum baby.mp4 --roi 200 150 120 80 -o spectrum.png
  motionmag spectrum bridge.mp4 --roi 300 40 200 400 --stabilize -o spec.png""",
    "measure": """\
examples:
  motionmag measure baby.mp4 x20.mp4 --roi 200 150 120 80 --band 0.3 0.6
  motionmag measure beam.mp4 --roi 40 60 80 40 --plot motion.png --csv m.csv
  motionmag measure beam.mp4 --grid 6 2 --map map.png  # a map of the motion""",
    "demo": """\
examples:
  motionmag demo                # writes motionmag-demo/ and says what is in it
  motionmag demo -o /tmp/demo""",
    "eval": """\
examples:
  motionmag eval linear phase --suite subpixel --n 10 --plot subpixel.png
  motionmag eval oh2018 --suite pairs --n 100 --json oh2018.json
  motionmag eval flowmag --suite real-video --video clip.mp4""",
    "bench": """\
examples:
  motionmag bench linear riesz --sizes 640x360 --runs 1 --no-memory
  motionmag bench ha2024-fast --precision bf16 --batch 4 --json bench.json""",
    "synth": """\
examples:
  motionmag synth -o oh2018-128 --n 1000 --size 128  # training data, resumable""",
    "train": """\
examples:
  motionmag train oh2018 --run runs/oh2018 --max-hours 2  # --resume goes on
  motionmag train ha2024 --init src/motionmag/models/weights/ha2024.safetensors
  motionmag train MODEL --help  # each model's own flags""",
    "analyze": """\
examples:
  motionmag analyze kernels oh2018 -o kernels.png""",
    "live": """\
examples:
  motionmag live 0 --method linear --alpha 10 --mode dynamic  # webcam, window
  motionmag live rtsp://10.0.0.5/stream -o out.mp4 --method riesz --band 1 3
  motionmag live baby.mp4 -o live.mp4 --band 0.3 0.6 --report run.json""",
}


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, wrapped without breaking a word at its hyphens; the examples
    (:data:`SESSION`, :data:`EXAMPLES`) kept line for line as written."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        text = " ".join(text.split())
        return textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n  motionmag " in text:  # examples: as written
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return "\n".join(
            textwrap.fill(
                " ".join(paragraph.split()),
                width,
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
                break_long_words=False,
            )
            for paragraph in text.split("\n\n")
        )


def add_examples(parser: argparse.ArgumentParser, subparsers: argparse._SubParsersAction) -> None:
    """Put :data:`SESSION` under ``parser`` and each command's :data:`EXAMPLES` under it."""
    parser.epilog = SESSION
    for name, command in subparsers.choices.items():
        if name in EXAMPLES:
            command.epilog = EXAMPLES[name]
