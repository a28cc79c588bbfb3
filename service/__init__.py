"""Houqin 后勤: the Flask application.

:func:`create_app` binds the extensions in a fixed order and registers the blueprints; nothing here
queries the database at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask_smorest import Blueprint as _Blueprint

from service.config import from_env, resolve_secret_key
from service.core import schemas as _schemas  # noqa: F401 - bounds every marshmallow Integer to int4
from service.core.jsonbody import HouqinParser

# Every blueprint's ``@blp.arguments`` reads JSON bodies through service.core.jsonbody.loads. Set here,
# at the package's import, because the decorators take the parser when an api module is imported -
# and a ``service.<area>`` module is never imported before this package.
_Blueprint.ARGUMENTS_PARSER = HouqinParser()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The app; raises :class:`service.config.InsecureSecretKey` before anything else starts when a
    deployment has no real ``SECRET_KEY`` (gunicorn workers and the Celery worker build it here)."""
    app = Flask(__name__, instance_path=str(_instance_dir()))
    _harden_input(app)
    app.config.from_mapping(from_env())
    if config:
        app.config.update(config)
        if "DATABASE_URL" in config and "MIGRATION_DATABASE_URL" not in config:
            app.config["MIGRATION_DATABASE_URL"] = config["DATABASE_URL"]
    app.config["SECRET_KEY"] = resolve_secret_key(app.config, Path(app.instance_path))

    from service.core.timeutil import clock_is_set, set_clock

    # HOUQIN_NOW starts the clock once per process; a clock set explicitly (houqin demo --today) wins.
    if app.config.get("HOUQIN_NOW") and not clock_is_set():
        set_clock(app.config["HOUQIN_NOW"])
        app.logger.warning(
            "HOUQIN_NOW is set: the clock runs from %s, not the system time", app.config["HOUQIN_NOW"]
        )

    from service import models  # noqa: F401 - complete metadata, tenant hooks installed
    from service.core import outbox  # noqa: F401 - after-commit task dispatch
    from service.core.celery import init_celery
    from service.core.errors import register_domain_errors
    from service.core.pagination import add_pagination_headers
    from service.extensions import api, babel, csrf, db, limiter, select_locale

    db.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_timezone=app.config["TIMEZONE"])
    csrf.init_app(app)
    limiter.init_app(app)

    from service.accounts.auth import init_auth

    init_auth(app)
    init_celery(app)
    register_domain_errors(app)
    app.after_request(add_pagination_headers)

    from service.accounts import views as _account_pages  # noqa: F401 - adds the 设置 › users pages
    from service.accounts.api import blp as accounts_api
    from service.appeals import views as _appeal_pages  # noqa: F401 - adds the 申诉 pages
    from service.appeals.api import blp as appeals_api
    from service.audit.api import blp as audit_api
    from service.bulletins import views as _bulletin_pages  # noqa: F401 - 通报/成绩单 previews; registers renderers
    from service.cockpit import compare_views as _compare_pages  # noqa: F401 - adds the 对比 page
    from service.cockpit import views as _cockpit_pages  # noqa: F401 - adds the 看板 boards
    from service.commendations import views as _commendation_pages  # noqa: F401 - adds the 表彰 pages
    from service.commendations.api import blp as commendations_api
    from service.evaluations import views as _evaluation_pages  # noqa: F401 - adds the staff grid
    from service.evaluations.api import blp as evaluations_api
    from service.excel import views as _excel_pages  # noqa: F401 - adds the Excel 填报 pages
    from service.excel.api import blp as excel_api
    from service.hazards import views as _hazard_pages  # noqa: F401 - adds the 整改 pages
    from service.hazards.api import blp as hazards_api
    from service.health import bp as health_bp
    from service.incidents import views as _incident_pages  # noqa: F401 - adds the incident pages
    from service.incidents.api import blp as incidents_api
    from service.inspections import facts_views as _facts_pages  # noqa: F401 - adds the canteen facts page
    from service.inspections import views as _inspection_pages  # noqa: F401 - adds the 检查 pages
    from service.inspections.api import blp as inspections_api
    from service.jobs import views as _job_pages  # noqa: F401 - adds the 后台任务 page
    from service.jobs.api import blp as jobs_api
    from service.notices import views as _notice_pages  # noqa: F401 - adds the 通知 pages (schedules, outbox)
    from service.org import views as _org_pages  # noqa: F401 - adds the 设置 › schools and clusters pages
    from service.org.api import blp as org_api
    from service.periods import views as _period_pages  # noqa: F401 - adds the 设置 › periods pages
    from service.periods.api import blp as periods_api
    from service.rankings.api import blp as rankings_api
    from service.reports import review_views as _review_pages  # noqa: F401 - adds the 审核 queue
    from service.reports.api import blp as reports_api
    from service.rubrics import views as _rubric_pages  # noqa: F401 - adds the 设置 › rubrics pages
    from service.rubrics.api import blp as rubrics_api
    from service.rules import views as _rule_pages  # noqa: F401 - adds the 设置 › rules pages
    from service.scoring.api import blp as scoring_api
    from service.staff import views as _staff_pages  # noqa: F401 - adds the 后勤人员 roster pages
    from service.staff.api import blp as staff_api
    from service.web import rankings as _ranking_pages  # noqa: F401 - adds the 排名 pages to web_bp
    from service.web import reports as _report_pages  # noqa: F401 - adds the 月报 pages to web_bp
    from service.web import settings as _settings_pages  # noqa: F401 - adds the 设置 landing page
    from service.web.views import bp as web_bp

    api.init_app(app)
    api.register_blueprint(accounts_api)
    api.register_blueprint(org_api)
    api.register_blueprint(rubrics_api)
    api.register_blueprint(staff_api)
    api.register_blueprint(periods_api)
    api.register_blueprint(reports_api)
    api.register_blueprint(audit_api)
    api.register_blueprint(evaluations_api)
    api.register_blueprint(inspections_api)
    api.register_blueprint(hazards_api)
    api.register_blueprint(incidents_api)
    api.register_blueprint(excel_api)
    api.register_blueprint(commendations_api)
    api.register_blueprint(appeals_api)
    api.register_blueprint(rankings_api)
    api.register_blueprint(scoring_api)
    api.register_blueprint(jobs_api)
    app.register_blueprint(web_bp)
    app.register_blueprint(health_bp)

    from service.web.filters import register_filters

    register_filters(app)
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Client addresses (login rate limit, logs) come from the proxy's X-Forwarded-For.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    return app


def _harden_input(app: Flask) -> None:
    """Malformed input is a 4xx, never a 500, on every route (before any route is registered): ids in
    paths bounded to the int4 columns, JSON bodies read without deep nesting, huge integers, NUL or
    lone surrogates, and every marshmallow ``Integer`` bounded (issue 14)."""
    from service.core import converters, input_guard
    from service.core.jsonbody import HouqinJSONProvider

    converters.install(app)
    app.json = HouqinJSONProvider(app)
    input_guard.install(app)


def _instance_dir() -> Any:
    from service.config import INSTANCE_DIR

    return INSTANCE_DIR
