"""The bulletin's and the report card's tables as xlsx workbooks (openpyxl), one sheet per table.

Headers in the recipient's language; numbers as numbers (a composite is a float with one decimal in
the cell's format), every text cell neutralised against formula injection (names are typed by people).
The report card's workbook holds the school's own sheets and the public ranking only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from io import BytesIO
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from service.bulletins.render import _picker, issuer, movement_text, number_label
from service.excel.common import col, neutralise

HEADER_FILL = PatternFill("solid", fgColor="E8F5E9")


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return neutralise(value)
    return value


def _sheet(
    wb: Workbook,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[int] = (),
) -> Worksheet:
    ws = wb.create_sheet(title=title[:31])
    ws.append(list(headers))
    for i, _h in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        ws.column_dimensions[col(i)].width = widths[i - 1] if i <= len(widths) else 12
    for row in rows:
        ws.append([_number(v) for v in row])
    ws.freeze_panes = "A2"
    return ws


def _save(wb: Workbook) -> bytes:
    del wb[wb.sheetnames[0]]  # the default empty sheet
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def bulletin_xlsx(b: Any, lang: str) -> bytes:
    c, t = b.content, _picker(lang)
    with force_locale(lang):
        wb = Workbook()
        about = _sheet(
            wb,
            _("Bulletin"),
            [_("Item"), _("Value")],
            [
                [_("Issued by"), issuer(lang)],
                [_("Number"), number_label(b)],
                [_("Period"), t(c["label"])],
                [_("Ranking snapshot"), c["snapshot"]["id"]],
                [_("Snapshot payload hash"), c["snapshot"]["payload_hash"]],
                [_("District mean composite"), c["summary"]["mean"]],
            ],
            (28, 70),
        )
        about.freeze_panes = None
        _sheet(
            wb,
            _("Ranking"),
            [
                _("Rank"),
                _("Movement"),
                _("Code"),
                _("School"),
                _("Cluster"),
                _("Peer group"),
                _("Composite"),
                _("Band"),
                _("Rank in peer group"),
                _("Rank in cluster"),
                _("Canteen"),
                _("Safety"),
                _("Logistics staff"),
                _("Status"),
                _("Veto"),
            ],
            (
                [
                    r["rank"],
                    movement_text(r["movement"]),
                    r["code"],
                    r["name"],
                    r["cluster"],
                    t(_peer(c, r["peer_group"])),
                    r["score"],
                    r["band"],
                    r["rank_peer"],
                    r["rank_cluster"],
                    r["canteen"],
                    r["safety"],
                    r["staff"],
                    r["status"],
                    _("Yes") if r["vetoed"] else "",
                ]
                for r in c["ranking"]
            ),
            (6, 8, 8, 22, 12, 20, 10, 6, 10, 10, 8, 8, 10, 12, 6),
        )
        _sheet(
            wb,
            _("Problems found"),
            [_("Item"), _("Requirement"), _("Schools"), _("Times failed"), _("Schools named")],
            (
                [
                    p["code"],
                    t(p["text"]),
                    p["school_count"],
                    p["failures"],
                    "、".join(s["name"] for s in p["schools"]),
                ]
                for p in c["problems"]
            ),
            (8, 50, 8, 10, 50),
        )
        _sheet(
            wb,
            _("Overdue hazards"),
            [_("School"), _("Hazard"), _("Deadline"), _("Days overdue")],
            (
                [s["name"], h["title"], h["deadline"], h["days_overdue"]]
                for s in c["overdue_hazards"]
                for h in s["hazards"]
            ),
            (22, 40, 12, 12),
        )
        canteen = c["canteen"]
        _sheet(
            wb,
            _("Canteen"),
            [_("School"), _("Menu compliance (%)"), _("Leader accompanied meals (%)"), _("Samples kept (%)")],
            ([s["name"], s["menu_rate"], s["accompany_rate"], s["sample_rate"]] for s in canteen["schools"]),
            (22, 18, 22, 18),
        )
        return _save(wb)


def _peer(c: dict[str, Any], peer_group: str) -> dict[str, str]:
    for group in c["peer_groups"]:
        if group["peer_group"] == peer_group:
            return group["label"]
    return {"zh": peer_group, "en": peer_group}


def report_card_xlsx(card: dict[str, Any], lang: str) -> bytes:
    t = _picker(lang)
    r = card["rank"]
    with force_locale(lang):
        wb = Workbook()
        own = _sheet(
            wb,
            _("Report card"),
            [_("Item"), _("Value")],
            [
                [_("School"), card["school"]["name"]],
                [_("Period"), t(card["label"])],
                [_("Composite"), card["score"]],
                [_("Band"), card["band"]],
                [_("Rank"), r["overall"]],
                [_("Rank in peer group"), r["peer"]],
                [_("Rank in cluster"), r["cluster"]],
                [_("Movement"), movement_text(r["movement"])],
                [_("Canteen"), card["areas"]["canteen"]],
                [_("Safety"), card["areas"]["safety"]],
                [_("Logistics staff"), card["areas"]["staff"]],
                [_("Staff evaluated"), card["staff"]["count"]],
                [_("Mean staff score"), card["staff"]["mean"]],
            ],
            (24, 30),
        )
        own.freeze_panes = None
        _sheet(
            wb,
            _("Points lost"),
            [_("Item"), _("Requirement"), _("Found in"), _("Times"), _("Points off")],
            (
                [
                    p["code"],
                    t(p["text"]),
                    "; ".join(
                        t(f["label"]) + (f" ×{f['count']}" if f["count"] > 1 else "") for f in p["found_in"]
                    ),
                    p["occurrences"],
                    p["points_off"],
                ]
                for p in card["lost_points"]
            ),
            (8, 50, 24, 8, 10),
        )
        _sheet(
            wb,
            _("Rectification"),
            [_("Hazard"), _("Severity"), _("State"), _("Deadline"), _("Overdue")],
            (
                [h["title"], t(h["severity"]), t(h["state"]), h["deadline"], _("Yes") if h["overdue"] else ""]
                for h in card["hazards"]
            ),
            (40, 10, 10, 12, 8),
        )
        district = card.get("district")
        if district:
            _sheet(
                wb,
                _("District ranking"),
                [_("Rank"), _("School"), _("Composite"), _("Band")],
                ([row["rank"], row["name"], row["score"], row["band"]] for row in district["rows"]),
                (6, 24, 10, 6),
            )
        return _save(wb)
