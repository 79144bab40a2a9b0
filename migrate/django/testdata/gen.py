#!/usr/bin/python3
# Makes golden.json: Django session cookies made by Django itself
# (django.core.signing, as django.contrib.sessions.backends.signed_cookies
# calls it), for migrate/django's tests. Regenerate with
#   /usr/bin/python3 migrate/django/testdata/gen.py > migrate/django/testdata/golden.json
# using Debian's python3-django (3.2 here). Test keys only.
import json
import time
from unittest import mock

import django
from django.conf import settings

SECRET = "django-insecure-test-key-for-crumb-golden-cookies-0001"
FALLBACK = "django-insecure-old-key-for-crumb-golden-cookies-0002"
OTHER = "django-insecure-unrelated-key-for-crumb-golden-000003"
SALT = "django.contrib.sessions.backends.signed_cookies"
NOW = 1767225600  # 2026-01-01T00:00:00Z

settings.configure(SECRET_KEY=SECRET)
django.setup()
from django.core import signing  # noqa: E402

LOGIN = {"_auth_user_id": "42", "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
         "_auth_user_hash": "3c1d2f", "cart": [101, 202, 303], "theme": "dark"}
BIG = {"_auth_user_id": "7", "notes": "lorem ipsum " * 200}


def sign(data, key, serializer=signing.JSONSerializer):
    with mock.patch("time.time", return_value=NOW):
        return signing.dumps(data, key=key, salt=SALT, serializer=serializer, compress=True)


valid = sign(LOGIN, SECRET)
cookies = [
    {"name": "valid", "value": valid, "data": LOGIN},
    {"name": "compressed", "value": sign(BIG, SECRET), "data": BIG},
    {"name": "fallback key", "value": sign(LOGIN, FALLBACK), "data": LOGIN},
    {"name": "wrong key", "value": sign(LOGIN, OTHER), "error": "signature"},
    {"name": "tampered", "value": valid[:5] + ("A" if valid[5] != "A" else "B") + valid[6:], "error": "signature"},
    {"name": "pickle serializer", "value": sign(LOGIN, SECRET, signing.PickleSerializer) if hasattr(signing, "PickleSerializer") else sign(LOGIN, SECRET, __import__("django.contrib.sessions.serializers", fromlist=["PickleSerializer"]).PickleSerializer), "error": "format"},
]
print(json.dumps({
    "django": django.get_version(),
    "secret_key": SECRET,
    "fallbacks": [FALLBACK],
    "salt": SALT,
    "signed_at": NOW,
    "cookies": cookies,
}, indent=2))
