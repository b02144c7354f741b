"""The pure parts of `moderation api`: Coral's signature check and status, Perspective's attribute map."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from moderation.api.coral import coral_status, signature_matches
from moderation.api.perspective import ATTRIBUTES
from moderation.config import ApiSettings, CoralSettings, load_settings
from moderation.errors import ConfigError
from moderation.models import Decision

BODY = b'{\n  "action": "NEW"\n}'


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def decision(flagged: bool, strongest: float = 0.0) -> Decision:
    reasons = {"insult": strongest} if flagged else {}
    return Decision(flagged=flagged, reasons=reasons, priority=strongest, status="pending" if flagged else "passed")


def test_a_signature_of_the_exact_body_with_the_secret_matches() -> None:
    assert signature_matches("s3cret", BODY, sign(BODY, "s3cret"))


def test_any_of_several_rotating_signatures_may_match() -> None:
    assert signature_matches("new", BODY, f"{sign(BODY, 'old')}, {sign(BODY, 'new')}")


@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha256=",
        "sha1=" + hashlib.sha1(BODY).hexdigest(),
        sign(BODY, "another secret"),
        sign(BODY + b" ", "s3cret"),
        sign(BODY, "s3cret").replace("sha256=", "sha512="),
    ],
)
def test_a_signature_that_does_not_match_is_refused(header: str) -> None:
    assert not signature_matches("s3cret", BODY, header)


def test_a_flagged_comment_is_premoderated_and_rejected_only_above_the_threshold() -> None:
    settings = CoralSettings(reject_threshold=0.9)
    assert coral_status(decision(True, 0.6), settings) == "PREMOD"
    assert coral_status(decision(True, 0.95), settings) == "REJECTED"
    assert coral_status(decision(True, 0.99), CoralSettings()) == "PREMOD"


def test_a_clean_comment_is_approved_or_left_to_coral() -> None:
    assert coral_status(decision(False), CoralSettings()) == "APPROVED"
    assert coral_status(decision(False), CoralSettings(approve_clean=False)) is None


def test_profanity_is_obscene_and_every_attribute_maps_to_a_label_we_score() -> None:
    assert ATTRIBUTES["PROFANITY"] == "obscene"
    assert set(ATTRIBUTES.values()) == {
        "toxicity",
        "severe_toxicity",
        "insult",
        "threat",
        "identity_attack",
        "obscene",
        "attack_on_commenter",
    }


def test_api_settings_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"api.languages.0: String should match pattern"):
        load_settings(environ={"MODERATION__API__LANGUAGES": '["English"]', "MODERATION_CONFIG": "/dev/null"})
    assert ApiSettings().rate_limit == 600
