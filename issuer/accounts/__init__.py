"""Who may act: offices, officers, their roles and API keys, service clients, and the
``Principal`` that names who is acting. Other packages use what is listed in ``__all__``.

Each change is one write transaction that also appends its audit record, so an account
never exists without the record of who made it. A key's text is returned once and never
stored. An admin acts for their own office: an officer of another office is NotFound.

Owns: ``principal`` (who is acting, the roles), ``rules`` (the account fields: login
names, display names, choices), ``offices`` (the office row, officers scoped to it),
``apikeys`` (key format and comparison; issuing, revoking and showing keys),
``officers``, ``clients`` (service clients), ``schemas`` (account request and public
shapes), ``changes`` (two-person rules: power-granting changes applied on approval, who
may approve whom, the bootstrap key's end).

May import: ``credential``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.settings``, ``issuer.errors``. Not ``issuer.web`` or ``issuer.cli``.
"""

from issuer.accounts.apikeys import (
    NewApiKey,
    hash_secret,
    issue_api_key,
    key_created,
    key_public,
    new_api_key,
    parse_api_key,
    revoke_api_key,
    secret_matches,
)
from issuer.accounts.changes import (
    ACCOUNT_KINDS,
    POWER_ROLES,
    apply_account_change,
    apply_maker_checker,
    change_role,
    refuse_ineligible_approver,
    replace_own_key,
    role_change_fields,
)
from issuer.accounts.clients import (
    CLIENT_KINDS,
    client_created,
    client_public,
    create_client,
    list_clients,
)
from issuer.accounts.officers import (
    active_admin_exists,
    create_officer,
    deactivate_officer,
    get_officer,
    list_officers,
    officer_created,
    officer_fields,
    officer_public,
    refuse_after_first_admin,
    refuse_taken_username,
)
from issuer.accounts.offices import ensure_office
from issuer.accounts.principal import ROLES, Principal
from issuer.accounts.schemas import (
    ApiKeyCreated,
    ApiKeyPublic,
    ClientCreate,
    ClientCreated,
    ClientPublic,
    OfficerCreate,
    OfficerCreated,
    OfficerPublic,
)

__all__ = [
    "ACCOUNT_KINDS",
    "CLIENT_KINDS",
    "POWER_ROLES",
    "ROLES",
    "ApiKeyCreated",
    "ApiKeyPublic",
    "ClientCreate",
    "ClientCreated",
    "ClientPublic",
    "NewApiKey",
    "OfficerCreate",
    "OfficerCreated",
    "OfficerPublic",
    "Principal",
    "active_admin_exists",
    "apply_account_change",
    "apply_maker_checker",
    "change_role",
    "client_created",
    "client_public",
    "create_client",
    "create_officer",
    "deactivate_officer",
    "ensure_office",
    "get_officer",
    "hash_secret",
    "issue_api_key",
    "key_created",
    "key_public",
    "list_clients",
    "list_officers",
    "new_api_key",
    "officer_created",
    "officer_fields",
    "officer_public",
    "parse_api_key",
    "refuse_after_first_admin",
    "refuse_ineligible_approver",
    "refuse_taken_username",
    "replace_own_key",
    "revoke_api_key",
    "role_change_fields",
    "secret_matches",
]
