"""Query API configuration: environment variables prefixed ``INITIATIVES_API_``.

Tokens are checked when the app is built (``shared.web.auth.TokenScopes``), not by a
validator here: a validation error would echo the configured value, which may be a token
pasted by mistake.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.config import Settings
from shared.web.auth import ADMIN_SCOPE


class QueryApiSettings(Settings):
    model_config = SettingsConfigDict(env_prefix="INITIATIVES_API_", extra="ignore")

    tokens: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "'sha256:<hex>' of an access token → its scope: the unit id whose subtree it may "
            f"read, or {ADMIN_SCOPE!r} for every unit (never the token itself)"
        ),
    )
    page_size: int = Field(default=50, ge=1, le=1000)
    shared_answer_seconds: float = Field(
        default=0.02,
        ge=0,
        le=60,
        description=(
            "How long identical reads of a unit's figures (same path, query and token scope) "
            "share one computed answer; the figures may be that much older than the read "
            "models (0: every request computes its own)"
        ),
    )
    unchanged_answer_seconds: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description=(
            "How long a shared answer is given again while the read models have not changed "
            "since it was computed (checked with one small read of their revision); bounds "
            "only how old its time-dependent parts may be, such as a phase's pace "
            "(0: answers are shared for the shared-answer seconds only)"
        ),
    )
    session_key: SecretStr | None = Field(
        default=None,
        description="Key that signs dashboard sessions; without it each process makes its "
        "own, so sessions end at a restart and are not shared between replicas",
    )
    session_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="How long a dashboard sign-in lasts"
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="The session cookie's Secure flag; unset, it follows the request's scheme "
        "(set true behind a proxy that terminates TLS)",
    )
    trusted_origins: list[str] = Field(
        default_factory=list,
        description="Origins (https://host) other than the dashboard's own host whose "
        "sign-in and sign-out forms are accepted",
    )
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, le=16 * 1024 * 1024, description="Larger bodies get 413"
    )
