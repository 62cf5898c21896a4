"""The office console's people: officers sign in with a password and a second factor,
and hold a server-side session (issue 13 point 2). The pages are in
``issuer.web.routes.office`` and ``issuer.web.office_pages``; this package has no web code.

Owns: ``factors`` (argon2id passwords, TOTP, one-time codes, the enrolment QR as SVG),
``signin`` (enrolment codes, enrolment, sign-in, lockout; every step audited under the
officer's name), ``sessions`` (the ``console_session`` rows: expiry, idle timeout,
sign-out, the form token), ``errors``.

API keys remain for systems and scripts. What an admin does to accounts from the console
(create an officer, change a role, deactivate) goes through the same functions as the
API (``issuer.lifecycle.account_requests``, ``issuer.accounts``) with the signed-in
officer's ``Principal``; only the enrolment code (set or reset a person's sign-in) is new
here, and the two-person rules count its issuer (``issuer.accounts.changes``).

Adding a console page (search, batches, inbox, ...): write a router in
``issuer/web/routes/office_<area>.py`` whose routes take ``OfficeUser`` (or
``OfficeAdmin``) from ``issuer.web.office_pages`` (the signed-in officer, or a redirect
to the sign-in page), render with ``office_pages.page(request, who, "<area>.html", ...)``
a template under ``templates/office/`` that ``{% extends "base.html" %}`` (nav, language
switch, the form token as ``csrf``), check every POST with ``office_pages.check_form``,
add the router to ``issuer.web.routes.ROUTERS`` (its link is already in ``NAV`` in
``office_pages`` for the planned areas: certificates, batches, inbox, restrictions, audit).
An area's page text lives beside its routes as ``{"zh": {...}, "en": {...}}`` and is
passed as ``page(..., strings=AREA_STRINGS)``; the shared text is ``office_pages.STRINGS``.

May import ``issuer.accounts``, ``issuer.audit``, ``issuer.db``, ``issuer.issuance``
(sealing), ``issuer.fields``, ``issuer.settings``, ``issuer.errors``, ``credential``.
"""

from issuer.console.errors import ConsoleLocked, SignInFailed
from issuer.console.factors import otpauth_uri, qr_svg
from issuer.console.sessions import ConsoleIdentity, csrf_matches, end_session, open_session
from issuer.console.signin import (
    Enrolment,
    confirm_enrolment,
    issue_enrolment,
    password_problems,
    sign_in,
    start_enrolment,
)

__all__ = [
    "ConsoleIdentity",
    "ConsoleLocked",
    "Enrolment",
    "SignInFailed",
    "confirm_enrolment",
    "csrf_matches",
    "end_session",
    "issue_enrolment",
    "open_session",
    "otpauth_uri",
    "password_problems",
    "qr_svg",
    "sign_in",
    "start_enrolment",
]
