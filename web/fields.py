"""Form fields with messages for people: a number field that says what to type instead of "Not
a valid float value", and stops checking a value it could not read (one message per mistake)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, FloatField, IntegerField
from wtforms.validators import StopValidation


class NumberField(FloatField):
    """A decimal number; text that is not one gets "enter a number such as 12 or 2.5"."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        text = str(valuelist[0]).strip()
        try:
            self.data = float(text)
        except ValueError:
            self.data = None
            hint = " (a dot for decimals)" if "," in text else ""
            raise ValueError(f"{text!r} is not a number: enter a number such as 12 or 2.5{hint}") from None
        if self.data != self.data or self.data in (float("inf"), float("-inf")):
            self.data = None
            raise ValueError(f"{text!r} is not a number: enter a number such as 12 or 2.5")

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()  # the reading error is the one message

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])  # what was typed, as typed
        if isinstance(self.data, float):
            return repr(self.data).removesuffix(".0")  # 110.0 -> 110, 2.5 -> 2.5, exact
        return "" if self.data is None else str(self.data)


class WholeNumberField(IntegerField):
    """A whole number; anything else gets "enter a whole number such as 3"."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        text = str(valuelist[0]).strip()
        try:
            self.data = int(text)
        except ValueError:
            self.data = None
            raise ValueError(f"{text!r} is not a whole number: enter a whole number such as 3") from None

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()


def form_errors(form: FlaskForm) -> list[str]:
    """Every field's problems as "Label: message" lines."""
    return [f"{form[name].label.text}: {msg}" for name, msgs in form.errors.items() for msg in msgs]


class DayField(DateField):
    """A date (YYYY-MM-DD, what a date input sends); anything else says so."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        text = str(valuelist[0]).strip()
        try:
            self.data = dt.date.fromisoformat(text)
        except ValueError:
            self.data = None
            raise ValueError(f"{text!r} is not a date: enter it as YYYY-MM-DD") from None

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()
