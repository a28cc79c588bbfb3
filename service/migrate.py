"""Running Alembic from the app: ``houqin db upgrade`` and the test suite use these."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from service.config import ROOT


def alembic_config(url: str, app_role: str = "houqin_app") -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url
    cfg.attributes["app_role"] = app_role
    cfg.attributes["skip_logging"] = True
    return cfg


def upgrade(url: str, revision: str = "heads", app_role: str = "houqin_app") -> None:
    command.upgrade(alembic_config(url, app_role), revision)


def downgrade(url: str, revision: str, app_role: str = "houqin_app") -> None:
    command.downgrade(alembic_config(url, app_role), revision)
