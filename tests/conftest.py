"""Shared pytest configuration: each helper appends its fixture plugin module here."""

pytest_plugins: list[str] = []
