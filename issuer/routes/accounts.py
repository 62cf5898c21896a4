"""Routes: accounts (issue 3). Filled in by its own change; empty routers are harmless."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
