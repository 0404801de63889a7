"""Checked values of driver spec options (``serial:/dev/x?baud=9600``): one wording for all.

Each returns ``default`` when the option is absent and raises DriverSpecError naming the
option and the accepted range when it is present but unusable.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TypeVar

from fieldpass.drivers.errors import DriverSpecError

T = TypeVar("T")


def int_option(
    options: Mapping[str, str], name: str, default: T, *, low: int, high: int
) -> int | T:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise DriverSpecError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise DriverSpecError(f"{name} must be between {low} and {high}, not {value}")
    return value


def float_option(
    options: Mapping[str, str], name: str, default: T, *, low: float, high: float, unit: str = ""
) -> float | T:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        units = f" {unit}" if unit else ""
        raise DriverSpecError(f"{name} must be between {low:g} and {high:g}{units}, not {raw!r}")
    return value


def bool_option(options: Mapping[str, str], name: str, default: T) -> bool | T:
    raw = options.get(name)
    if raw is None:
        return default
    text = raw.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise DriverSpecError(f"{name} must be 0 or 1, not {raw!r}")
