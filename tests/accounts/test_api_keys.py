import hashlib
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_create, api_key_revoke
from wireflow_site.errors import ApiError


def test_a_new_key_is_sk_with_32_plus_random_chars_and_only_its_hash_is_stored(team):
    new = api_key_create(team=team, name="ci")
    assert new.raw_key.startswith("sk-") and len(new.raw_key) >= 3 + 32
    stored = ApiKey.objects.get(pk=new.api_key.pk)
    assert stored.key_hash == hashlib.sha256(new.raw_key.encode()).hexdigest()
    assert new.raw_key not in {str(v) for v in stored.__dict__.values()} - {stored.key_hash}
    assert stored.prefix == new.raw_key[:10] and stored.last4 == new.raw_key[-4:]
    assert stored.masked == f"{new.raw_key[:10]}…{new.raw_key[-4:]}"


def test_two_keys_never_collide(team):
    keys = {api_key_create(team=team, name=f"k{i}").raw_key for i in range(20)}
    assert len(keys) == 20


def test_unknown_scope_is_refused(team):
    with pytest.raises(ApiError, match="Unknown scope"):
        api_key_create(team=team, name="bad", scopes=["workflows:read", "root"])
    assert not ApiKey.objects.exists()


def test_revoke_sets_revoked_at_once(team):
    key = api_key_create(team=team, name="x").api_key
    api_key_revoke(api_key=key)
    first = key.revoked_at
    api_key_revoke(api_key=key)
    assert key.revoked_at == first and key.is_revoked


def test_createapikey_prints_the_key_once_with_scopes_and_expiry(team, capsys):
    call_command(
        "createapikey", "--team", team.slug, "--name", "deploy",
        "--scopes", "workflows:read,executions:read", "--expires-in-days", "7",
    )
    out, err = capsys.readouterr()
    raw = out.strip()
    key = ApiKey.objects.get(name="deploy")
    assert raw.startswith("sk-") and key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert key.scopes == ["workflows:read", "executions:read"]
    assert timedelta(days=6, hours=23) < key.expires_at - timezone.now() <= timedelta(days=7)
    assert "shown only now" in err


def test_createapikey_refuses_an_unknown_team(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No team"):
        call_command("createapikey", "--team", "nope", "--name", "x")
