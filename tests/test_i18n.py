"""The Simplified Chinese catalog: complete, consistent with the source, compiled and found at runtime.

msgids are English and zh_CN is the default UI language, so an untranslated string shows up as English
in a Chinese UI. These tests re-extract the messages from the source exactly as ``scripts/i18n extract``
does (babel.cfg, same keywords) and fail with the list of offending msgids. No database needed.

The fix for a failure is almost always::

    scripts/i18n extract     # merge new strings into the .po
    (translate every empty msgstr in service/translations/zh_Hans_CN/LC_MESSAGES/messages.po)
    scripts/i18n compile     # rebuild the .mo; commit .po and .mo together
"""

from __future__ import annotations

import functools
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages import frontend
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po
from flask import Flask, session
from flask_babel import Babel, get_locale, gettext

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "service" / "translations"
# Flask-Babel looks the catalog up by the normalised Babel locale: "zh_CN" -> "zh_Hans_CN".
PO_PATH = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
MO_PATH = PO_PATH.with_suffix(".mo")

# The keywords of scripts/i18n: babel's defaults (_, gettext, ngettext, pgettext, ...) plus Flask-Babel's.
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy_gettext": None,
    "_l": None,
    "lazy_ngettext": (1, 2),
    "lazy_pgettext": ((1, "c"), 2),
}

HINT = "run scripts/i18n extract, translate in {po}, then scripts/i18n compile"

# printf-style conversions (%(name)s, %d, %%) and str.format fields ({min}, {choices}).
PRINTF = re.compile(r"%(?:\((?P<key>[^)]*)\))?[#0 +\-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]")
BRACE = re.compile(r"\{\{|\}\}|\{[^{}]*\}")


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@functools.cache
def _po() -> Catalog:
    with PO_PATH.open("rb") as f:
        return read_po(f, locale="zh_CN")


@functools.cache
def _mapping() -> tuple[list, dict]:
    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        return parse(f)


@pytest.fixture(scope="module")
def source_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The messages of the current source, written to a temporary .pot and read back."""
    method_map, options_map = _mapping()
    catalog = Catalog(project="Houqin")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    with pot.open("wb") as f:
        write_po(f, catalog, sort_output=True)
    with pot.open("rb") as f:
        return read_po(f)


def _messages(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def _forms(message: Message) -> tuple[str, ...]:
    if isinstance(message.string, (list, tuple)):
        return tuple(message.string)
    return (message.string or "",)


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (list, tuple)) else (message.id,)


def _label(message: Message) -> str:
    msgid = _ids(message)[0]
    return f"{message.context}|{msgid}" if message.context else msgid


def _placeholders(text: str) -> Counter[str]:
    """printf specs, format fields and stray '%' (which breaks Jinja's always-%-formatting gettext)."""
    found = Counter(m.group(0) for m in PRINTF.finditer(text))
    found["stray %"] = PRINTF.sub("", text).count("%")
    found.update(m.group(0) for m in BRACE.finditer(text) if m.group(0) not in ("{{", "}}"))
    return +found


def test_source_has_messages(source_catalog: Catalog) -> None:
    """Guards the extraction itself: a broken babel.cfg would otherwise make every check vacuous."""
    files = {loc[0] for m in _messages(source_catalog) for loc in m.locations}
    assert any(f.endswith(".html") for f in files), "no messages extracted from the templates"
    assert any(f.endswith(".py") for f in files), "no messages extracted from the Python code"
    assert len(_messages(source_catalog)) >= 50


def test_every_source_message_is_translated(source_catalog: Catalog) -> None:
    po = _po()
    missing = []
    for message in _messages(source_catalog):
        translated = po.get(message.id, context=message.context)
        if translated is None:
            missing.append(f"{_label(message)!r}  (not in the .po; {message.locations[0][0]})")
        elif translated.fuzzy or not all(form.strip() for form in _forms(translated)):
            missing.append(f"{_label(message)!r}  ({'fuzzy' if translated.fuzzy else 'empty msgstr'})")
    assert not missing, (
        f"{len(missing)} UI string(s) without a zh_CN translation ({HINT.format(po=_rel(PO_PATH))}):\n  "
        + "\n  ".join(missing)
    )


def test_catalog_has_no_fuzzy_or_empty_entries() -> None:
    """Fuzzy entries are left out of the .mo; empty ones fall back to English."""
    bad = [_label(m) for m in _messages(_po()) if m.fuzzy or not all(form.strip() for form in _forms(m))]
    assert not bad, f"fuzzy or empty entries in {_rel(PO_PATH)}: {bad}"


def test_placeholders_match_the_msgid() -> None:
    wrong = []
    for message in _messages(_po()):
        allowed = [_placeholders(msgid) for msgid in _ids(message)]
        for form in _forms(message):
            got = _placeholders(form)
            if form and got not in allowed:
                want = " or ".join(str(dict(a)) for a in allowed)
                wrong.append(f"{_label(message)!r}: translation has {dict(got)}, msgid has {want}")
    assert not wrong, "placeholder mismatch in " + _rel(PO_PATH) + ":\n  " + "\n  ".join(wrong)


def _translations(mo_bytes: bytes) -> dict[tuple[object, str | None], object]:
    catalog = read_mo(io.BytesIO(mo_bytes))
    return {(m.id if isinstance(m.id, str) else tuple(m.id), m.context): m.string for m in catalog if m.id}


def test_compiled_mo_matches_po() -> None:
    """The committed .mo (what Flask-Babel loads) holds exactly the translations of the .po."""
    assert MO_PATH.exists(), f"{_rel(MO_PATH)} is missing: run scripts/i18n compile"
    compiled = io.BytesIO()
    write_mo(compiled, _po())
    expected = _translations(compiled.getvalue())
    actual = _translations(MO_PATH.read_bytes())
    stale = sorted(
        str(key[0]) for key in expected.keys() | actual.keys() if expected.get(key) != actual.get(key)
    )
    assert not stale, f"{_rel(MO_PATH)} is out of date (run scripts/i18n compile); differs for: {stale}"


@pytest.fixture(scope="module")
def babel_app() -> Flask:
    """A bare Flask app with the service's Babel settings and translation directory (no database)."""
    from service.config import from_env

    config = from_env({})
    app = Flask("service", root_path=str(ROOT / "service"))
    app.config.update(
        SECRET_KEY="test",
        BABEL_DEFAULT_LOCALE=config["BABEL_DEFAULT_LOCALE"],
        BABEL_DEFAULT_TIMEZONE=config["BABEL_DEFAULT_TIMEZONE"],
    )
    Babel(app, locale_selector=lambda: session.get("lang") or app.config["BABEL_DEFAULT_LOCALE"])
    return app


def test_default_locale_loads_the_catalog(babel_app: Flask) -> None:
    """Flask-Babel finds and uses the compiled catalog for the default locale (zh_CN)."""
    with babel_app.test_request_context("/"):
        assert str(get_locale()).startswith("zh")
        untranslated = [
            m.id
            for m in _messages(_po())
            if isinstance(m.id, str) and not m.context and gettext(m.id) != m.string
        ]
    assert not untranslated, (
        f"Flask-Babel does not serve these translations for {babel_app.config['BABEL_DEFAULT_LOCALE']}: "
        f"{untranslated[:10]} (stale .mo, or a catalog directory not named after the normalised locale?)"
    )


def test_english_uses_the_msgids(babel_app: Flask) -> None:
    with babel_app.test_request_context("/"):
        session["lang"] = "en"
        assert str(get_locale()) == "en"
        assert gettext("Log out") == "Log out"
        assert gettext("Welcome, %(name)s", name="Wang") == "Welcome, Wang"
