"""Authentication request and response bodies (``auth/accesstokenrequest``, renew, ``auth/me``)."""

from __future__ import annotations

import msgspec

from ._base import WireModel


class AccessTokenRequest(WireModel, frozen=True):
    """Body of ``auth/accesstokenrequest``. ``cid`` is sent as a number, as every example does.

    Its ``repr`` hides the password and the secret so it can never leak into a log.
    """

    name: str
    password: str
    app_id: str | None = None
    app_version: str | None = None
    device_id: str | None = None
    cid: int | str | None = None
    sec: str | None = None
    penalty_ticket: str | None = msgspec.field(default=None, name="p-ticket")

    def __repr__(self) -> str:
        return (f"AccessTokenRequest(name={self.name!r}, password='***', app_id={self.app_id!r}, "
                f"device_id={self.device_id!r}, cid={self.cid!r}, sec='***')")

    __str__ = __repr__


class AccessTokenResponse(WireModel, frozen=True):
    """Result of a token request or renewal.

    A success carries ``access_token`` and ``expiration_time``; everything else is optional.
    A penalty is an HTTP 200 with ``p-ticket``/``p-time`` (and ``p-captcha``) instead.
    ``repr`` never shows the tokens.
    """

    access_token: str | None = None
    md_access_token: str | None = None
    expiration_time: str | None = None
    error_text: str | None = None
    password_expiration_time: str | None = None
    user_status: str | None = None
    user_id: int | None = None
    name: str | None = None
    has_live: bool | None = None
    has_funded: bool | None = None
    has_market_data: bool | None = None
    outdated_ta_c: bool | None = msgspec.field(default=None, name="outdatedTaC")
    outdated_liquidation_policy: bool | None = None
    penalty_ticket: str | None = msgspec.field(default=None, name="p-ticket")
    penalty_time: float | None = msgspec.field(default=None, name="p-time")
    penalty_captcha: bool | None = msgspec.field(default=None, name="p-captcha")

    def __repr__(self) -> str:
        return (f"AccessTokenResponse(access_token={'***' if self.access_token else None}, "
                f"md_access_token={'***' if self.md_access_token else None}, "
                f"expiration_time={self.expiration_time!r}, user_id={self.user_id!r}, "
                f"name={self.name!r}, error_text={self.error_text!r})")

    __str__ = __repr__


class MeResponse(WireModel, frozen=True):
    """``auth/me``: who the token belongs to (the field is ``email``, not ``emailAddress``)."""

    user_id: int | None = None
    name: str | None = None
    full_name: str | None = None
    email: str | None = None
    email_verified: bool | None = None
    is_trial: bool | None = None
    error_text: str | None = None
