"""What a title, body or label may hold: length limits and the cleaning every write applies."""

import re

from forum.errors import Invalid

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 20_000
STANCE_LABEL_MAX_LENGTH = 120
FLAG_TEXT_MAX_LENGTH = 2000
SLUG = re.compile(r"[-a-zA-Z0-9_]+")
# C0 control characters other than tab, newline and carriage return; PostgreSQL cannot store NUL.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(field: str, value, max_length: int) -> str:
    """Stripped text, refused (naming the field) when blank, too long or holding control characters."""
    if not isinstance(value, str):
        raise Invalid.on(field, "Must be a string.")
    value = value.strip()
    if not value:
        raise Invalid.on(field, "This field may not be blank.")
    if len(value) > max_length:
        raise Invalid.on(field, f"Ensure this field has no more than {max_length} characters.")
    if _CONTROL_CHARS.search(value):
        raise Invalid.on(field, "Control characters are not allowed.")
    return value


def clean_optional_text(field: str, value, max_length: int) -> str:
    """Like clean_text, but an empty value is allowed."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    return clean_text(field, value, max_length)
