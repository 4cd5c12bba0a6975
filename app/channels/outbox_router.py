"""Placeholder router, filled in by its package."""

from fastapi import APIRouter

router = APIRouter()
