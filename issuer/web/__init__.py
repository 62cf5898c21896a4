"""The issuer's HTTP face: the FastAPI app, request dependencies, problem JSON, routes
and pages. Routes are thin: they parse, call a service and shape the answer.

Owns: ``app`` (the app factory), ``hosts`` (Host and Origin checked before anything
else), ``deps`` (settings, session, signer, who is asking and the role aliases every route
uses), ``problems`` (every error mapped to HTTP, in one
place), ``pages`` (what every HTML page shares: language, same-origin check, headers,
templates), ``holder_pages`` (the holder's HTML pages: text, templates, checks),
``office_pages`` (the office console's: the signed-in officer, form checks, text),
``publisher`` (the publication job's thread, started by the app's lifespan), ``apidocs``
(``/docs`` and ``/redoc`` from local assets), ``routes`` (one router per area).

May import anything in ``issuer`` below it, FastAPI and Starlette. Nothing imports it but
``issuer.cli``.
"""
