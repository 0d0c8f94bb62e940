"""Input fields that take only the JSON type the schema names.

DRF's own fields coerce: `"name": 0` becomes `"0"`, `"force": "yes"` becomes true, `"teamId":
"7"` becomes 7. The OpenAPI schema promises a string, a boolean, an integer; these fields keep
that promise and refuse other types with a 400, as schemathesis's negative data expects.
"""

from __future__ import annotations

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUrlField(serializers.URLField, StrictCharField):
    pass
