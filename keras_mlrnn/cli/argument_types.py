"""Argument types of the `keras-mlrnn` command: each checks a value as it is parsed."""

import argparse


def positive(convert, noun):
    """An argparse type: `convert(text)` must give a finite value > 0, else an error naming it."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {noun}, got {text!r}") from None
        if not (0 < value < float("inf")):  # also refuses NaN
            raise argparse.ArgumentTypeError(f"must be a positive {noun}, got {value}")
        return value

    return parse


def optional_path(value):
    """`--backbone-weights none` -> None (random initialisation); anything else unchanged."""
    return None if value.lower() == "none" else value


positive_int = positive(int, "integer")
positive_float = positive(float, "finite number")
