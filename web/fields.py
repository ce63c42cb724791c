"""Form fields with messages for people: a number field that says what to type instead of "Not
a valid float value", and stops checking a value it could not read (one message per mistake)."""
from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, FloatField, IntegerField
from wtforms.validators import StopValidation


class _Typed(ABC):
    """A field whose text is read by ``_parse`` (a ValueError says what to type); an empty field
    is None, and a reading error is the field's one message (no further validation)."""

    data: Any
    process_errors: list[Any]

    @abstractmethod
    def _parse(self, text: str) -> Any:
        """The value of the typed text; ValueError with what to type instead."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]).strip() if valuelist else ""
        self.data = None
        if text:
            self.data = self._parse(text)

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()  # the reading error is the one message


class NumberField(_Typed, FloatField):
    """A decimal number; text that is not one gets "enter a number such as 12 or 2.5"."""

    def _parse(self, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            hint = " (a dot for decimals)" if "," in text else ""
            raise ValueError(f"{text!r} is not a number: enter a number such as 12 or 2.5{hint}") from None
        if value in (float("inf"), float("-inf")) and any(c.isdigit() for c in text):
            raise ValueError(f"{text!r} is too large: enter a number such as 12 or 2.5")
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{text!r} is not a number: enter a number such as 12 or 2.5")
        return value

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])  # what was typed, as typed
        if isinstance(self.data, float):
            return repr(self.data).removesuffix(".0")  # 110.0 -> 110, 2.5 -> 2.5, exact
        return "" if self.data is None else str(self.data)


class WholeNumberField(_Typed, IntegerField):
    """A whole number; anything else gets "enter a whole number such as 3"."""

    def _parse(self, text: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number: enter a whole number such as 3") from None


def form_errors(form: FlaskForm) -> list[str]:
    """Every field's problems as "Label: message" lines."""
    return [f"{form[name].label.text}: {msg}" for name, msgs in form.errors.items() for msg in msgs]


class DayField(_Typed, DateField):
    """A date (YYYY-MM-DD, what a date input sends); anything else says so."""

    def _parse(self, text: str) -> dt.date:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date: enter it as YYYY-MM-DD") from None
