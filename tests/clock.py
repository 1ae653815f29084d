"""Run writes at a chosen moment."""

import datetime
from contextlib import contextmanager
from unittest.mock import patch


@contextmanager
def frozen_at(moment: datetime.datetime):
    """Every timezone.now() inside returns `moment`, model field defaults included.

    Patching django.utils.timezone.now is not enough: `default=timezone.now` captured the function
    object. Both that function and any patched attribute read the module's `datetime` global, so
    that is what is replaced.
    """

    class Frozen(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return moment.astimezone(tz) if tz else moment.replace(tzinfo=None)

    with patch("django.utils.timezone.datetime", Frozen):
        yield
