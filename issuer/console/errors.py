"""The console's errors: every one an ``IssuerError`` (the issuer's root error), mapped to
HTTP in ``issuer.web.problems`` and shown beside the form on the console's pages."""

from __future__ import annotations

from issuer.errors import IssuerError, TooManyRequests

__all__ = ["ConsoleLocked", "SignInFailed", "sign_in_failed"]


class SignInFailed(IssuerError):
    """Wrong username, password, code, or an expired or used enrolment code (which of
    them is never said)."""

    status = 401
    code = "sign_in_failed"


class ConsoleLocked(TooManyRequests):
    """Too many failed attempts for this officer: locked for a while."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "Too many attempts",
            "尝试次数过多",
            "The account is locked for a while after too many failed sign-ins.",
            "登录失败次数过多，账户已暂时锁定。",
            retry_after=retry_after,
        )
        self.retry_after = max(1, retry_after)


def sign_in_failed() -> SignInFailed:
    """Return the one refusal every wrong sign-in or enrolment gets."""
    return SignInFailed(
        "Wrong username, password or code",
        "用户名、密码或验证码不正确",
        "Check them and try again; ask an admin for a new enrolment code if needed.",
        "请核对后重试；如需重新设置，请向管理员索取新的设置码。",
    )
