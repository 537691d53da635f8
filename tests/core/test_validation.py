"""Shared text validation: length limits apply to the value as sent (as the OpenAPI document states them),
then surrounding whitespace is trimmed and a blank value refused."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import BaseModel, StringConstraints, ValidationError

from leadhub.core.validation import TRIMMED_NOT_BLANK


class Named(BaseModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=5), TRIMMED_NOT_BLANK]


def test_trimmed_text_checks_its_length_as_sent_then_trims_and_refuses_blank() -> None:
    assert Named(name="  ab ").name == "ab"
    for bad, rule in (("   ", "string_too_short"), ("abcde ", "string_too_long"), ("", "string_too_short")):
        with pytest.raises(ValidationError) as raised:
            Named(name=bad)
        assert raised.value.errors()[0]["type"] == rule
