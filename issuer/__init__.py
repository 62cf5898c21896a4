"""The certification office's service (issuer): settings, tables, services, HTTP app.

``issuer.services`` holds the transactions (no web framework); ``issuer.app`` is a thin
FastAPI shell over them. See contract sections 2, 3, 5, 10 and 11.
"""
