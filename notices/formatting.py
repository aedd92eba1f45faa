"""Formatting for the portal's templates: money in 元, times in the platform's zone, structured notice fields.

Plain functions on plain values (no I/O); :func:`register_filters` installs them in the Jinja environment as
filters and globals. Values shown to people are built here as small display trees (text, key–value pairs,
tables, lists) so that templates never mark anything safe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import pass_context
from jinja2.runtime import Context
from litestar.plugins.jinja import JinjaTemplateEngine

from notices.kinds import NOTICE_KINDS, FieldSpec
from trading.context import ROLE_NAMES_ZH
from trading.projects.schemas import FUNDING_KIND_NAMES, TRADE_KIND_NAMES
from trading.regions import REGIONS, full_name
from trading.rules.procedures import EVENTS

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_UNIT_SUFFIX = re.compile(r"（分）$")

#: Labels for keys met inside structured fields (candidate lists, amendment changes …), beyond each kind's own.
_EXTRA_LABELS = {
    "fields": "公告内容",
    "timetable": "时间安排",
    "title": "标题",
    "body": "正文",
    "name": "名称",
    "rank": "排序",
    "bidder": "投标人",
    "bidder_name": "投标人",
    "bidder_id": "投标人编号",
    "organisation": "单位",
    "price_fen": "报价",
    "bid_price_fen": "投标报价",
    "quality": "质量",
    "duration_days": "工期（日）",
    "project_leader": "项目负责人",
    "certificate": "证书",
    "qualifications": "资格情况",
    "score": "得分",
    "quantity": "数量",
    "unit": "单位",
    "unit_price_fen": "单价",
    "amount_fen": "金额",
    "outcome": "结果",
    "reason": "原因",
    "status": "状态",
    "manifest_sha256": "投标文件清单哈希",
    "ciphertext_sha256": "密文哈希",
    "section": "标段",
    "section_code": "标段编号",
    "role": "角色",
}

#: Codes that have a Chinese name in a given field.
_VALUE_NAMES = {
    "outcome": {"terminated": "终止", "failed": "流标", "opened": "已开启", "withdrawn": "已撤回"},
}

_AUDIT_ACTIONS = {
    "centre.create": "登记交易中心",
    "organisation.create": "登记单位",
    "person.create": "创建账号",
    "token.issue": "签发API令牌",
    "token.revoke": "吊销API令牌",
    "session.start": "登录门户",
    "project.create": "创建交易项目",
    "notice.draft": "起草公告",
    "notice.edit": "修改公告草稿",
    "notice.attach": "上传公告附件",
    "notice.publish": "发布公告",
    "notice.amend": "变更公告",
    "calendar.set": "维护工作日历",
}


def _labels() -> dict[str, str]:
    labels = dict(_EXTRA_LABELS)
    for key, (zh, _en) in EVENTS.items():
        labels.setdefault(key, zh)
    for kind in NOTICE_KINDS.values():
        for spec in kind.fields:
            labels.setdefault(spec.key, spec_label(spec))
    return labels


def spec_label(spec: FieldSpec) -> str:
    """A field's Chinese name as shown: money is shown in 元, so the "(分)" of the stored unit goes."""
    return _UNIT_SUFFIX.sub("", spec.name_zh)


# --- numbers and money ----------------------------------------------------------------------------------


def yuan(fen: int | None) -> str:
    """Integer fen as 元: ``yuan(123456789) == "¥1,234,567.89 元"``."""
    if fen is None:
        return "—"
    value = int(fen)
    whole, cents = divmod(abs(value), 100)
    sign = "-" if value < 0 else ""
    return f"{sign}¥{whole:,}.{cents:02d} 元"


def wanyuan(fen: int | None) -> str:
    """Integer fen as 万元 with two decimals: ``wanyuan(4_865_000_000) == "4,865.00 万元"``."""
    if fen is None:
        return "—"
    value = (Decimal(int(fen)) / Decimal(1_000_000)).quantize(Decimal("0.01"))
    return f"{value:,} 万元"


def percent(part: int, whole: int) -> str:
    if not whole:
        return "—"
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))
    return f"{value}%"


def number(value: int | float | Decimal | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,}".rstrip("0").rstrip(".") if "." in f"{value}" else f"{value:,}"


def filesize(size: int | None) -> str:
    if size is None:
        return "—"
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TB"  # pragma: no cover


# --- times ------------------------------------------------------------------------------------------------


def as_datetime(value: datetime | str | None) -> datetime | None:
    """An aware datetime from a datetime or an ISO-8601 string (naive values are UTC, as stored)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def _zone(ctx: Context | None) -> ZoneInfo:
    settings = ctx.get("settings") if ctx is not None else None
    name = getattr(settings, "time_zone", None)
    try:
        return ZoneInfo(name) if name else DEFAULT_ZONE
    except (KeyError, ValueError):
        return DEFAULT_ZONE


def local_datetime(value: datetime | str | None, zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """``2026年3月22日 09:30`` in the platform's zone."""
    dt = as_datetime(value)
    if dt is None:
        return "—"
    d = dt.astimezone(zone)
    return f"{d.year}年{d.month}月{d.day}日 {d:%H:%M}"


def local_date(value: datetime | str | date | None, zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """``2026年3月22日``."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return f"{value.year}年{value.month}月{value.day}日"
    dt = as_datetime(value)
    if dt is None:
        return "—"
    d = dt.astimezone(zone)
    return f"{d.year}年{d.month}月{d.day}日"


def short_date(value: datetime | str | None, zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """``2026-03-22`` — for dense lists."""
    dt = as_datetime(value)
    return "—" if dt is None else f"{dt.astimezone(zone):%Y-%m-%d}"


def short_datetime(value: datetime | str | None, zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """``2026-03-22 09:30`` — for dense tables."""
    dt = as_datetime(value)
    return "—" if dt is None else f"{dt.astimezone(zone):%Y-%m-%d %H:%M}"


def machine_datetime(value: datetime | str | None, zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """ISO 8601 with the zone's offset, for ``<time datetime=…>``."""
    dt = as_datetime(value)
    return "" if dt is None else dt.astimezone(zone).isoformat(timespec="seconds")


def weekday_date(value: datetime | None, zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """``2026年3月2日 星期一``."""
    dt = as_datetime(value)
    if dt is None:
        return ""
    d = dt.astimezone(zone)
    return f"{d.year}年{d.month}月{d.day}日 {WEEKDAYS_ZH[d.weekday()]}"


def days_left(deadline: datetime | None, now: datetime | None) -> int | None:
    """Whole days from *now* until *deadline* (0 on the last day); None when either is unknown or past."""
    if deadline is None or now is None or deadline <= now:
        return None
    return (deadline - now).days


#: Timetable events in the order they happen when two share an instant (the deadline before the opening).
_EVENT_ORDER = {key: i for i, key in enumerate(EVENTS)}


# --- structured fields -------------------------------------------------------------------------------------

Node = dict[str, Any]
LABELS = _labels()


def field_label(key: str) -> str:
    return LABELS.get(key, key)


def text_node(text: str) -> Node:
    lines = text.split("\n")
    if len(lines) > 1:
        return {"kind": "lines", "lines": lines}
    return {"kind": "text", "text": text}


def display_value(value: Any, type: str | None = None, key: str = "") -> Node:
    """A display tree for one field value; money (``type == "money"`` or a ``*_fen`` key) is shown in 元."""
    if value is None or value == "":
        return {"kind": "text", "text": "—"}
    if isinstance(value, bool):
        return {"kind": "text", "text": "是" if value else "否"}
    if type == "money" or key.endswith("_fen"):
        if isinstance(value, int):
            return {"kind": "text", "text": yuan(value)}
    if isinstance(value, int | float):
        return {"kind": "text", "text": number(value)}
    if isinstance(value, str):
        names = _VALUE_NAMES.get(key)
        if names and value in names:
            return {"kind": "text", "text": names[value]}
        if type == "datetime" or _ISO_DATETIME.match(value):
            dt = as_datetime(value)
            if dt is not None:
                return {"kind": "text", "text": local_datetime(dt)}
        return text_node(value)
    if isinstance(value, Mapping):
        return {
            "kind": "pairs",
            "items": [(field_label(str(k)), display_value(v, key=str(k))) for k, v in value.items()],
        }
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, Mapping) for v in value):
            columns: list[str] = []
            for row in value:
                columns.extend(str(k) for k in row if str(k) not in columns)
            return {
                "kind": "table",
                "columns": [field_label(c) for c in columns],
                "rows": [[display_value(row.get(c), key=c) for c in columns] for row in value],
            }
        return {"kind": "list", "items": [display_value(v, key=key) for v in value]}
    return {"kind": "text", "text": str(value)}


def notice_field_rows(kind_key: str, fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The notice's structured fields as labelled rows: the kind's own fields in order, then any others."""
    kind = NOTICE_KINDS.get(kind_key)
    specs = kind.fields if kind else ()
    rows = []
    seen = set()
    for spec in specs:
        seen.add(spec.key)
        if spec.key not in fields or fields[spec.key] in (None, "", [], {}):
            continue
        rows.append(
            {
                "key": spec.key,
                "label": spec_label(spec),
                "source": spec.source,
                "value": display_value(fields[spec.key], spec.type, spec.key),
            }
        )
    for key, value in fields.items():
        if key not in seen and value not in (None, "", [], {}):
            rows.append({"key": key, "label": field_label(key), "source": "", "value": display_value(value, key=key)})
    return rows


def timetable_rows(timetable: Mapping[str, str], deadline: datetime | None) -> list[dict[str, Any]]:
    """A notice's timetable in time order, each event with its Chinese name; the deadline is marked."""
    rows = []
    for key, raw in timetable.items():
        at = as_datetime(raw)
        if at is not None:
            rows.append({"key": key, "label": EVENTS.get(key, (key, key))[0], "at": at, "is_deadline": False})
    rows.sort(key=lambda r: (r["at"], _EVENT_ORDER.get(r["key"], len(_EVENT_ORDER)), r["key"]))
    # The deadline is one event; others may fall at the same instant (the opening follows it at once).
    for row in rows:
        if deadline is not None and row["at"] == deadline:
            row["is_deadline"] = True
            break
    return rows


_HEADING = re.compile(
    r"^([一二三四五六七八九十百]+、|（[一二三四五六七八九十]+）|第[一二三四五六七八九十百]+[章节部分])"
)


def is_heading(line: str) -> bool:
    """Whether a body line is a numbered heading (一、招标条件 / 第二章 …), shown as one; short lines only."""
    return len(line) <= 40 and bool(_HEADING.match(line))


def paragraphs(text: str | None) -> list[str]:
    """A plain-text body split into paragraphs (one per non-empty line); the template escapes each."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def short_hash(value: str | None, length: int = 12) -> str:
    return "" if not value else value[:length]


def region_name(code: str | None) -> str:
    if not code or code not in REGIONS:
        return code or "—"
    return full_name(code)


#: Common short forms of long division names, for tight lists.
_SHORT_NAMES = {"433100": "湘西州"}


def region_short(code: str | None) -> str:
    """The division's own name, as people say it in a list: 澧县, 常德市, 湘西州."""
    region = REGIONS.get(code or "")
    if region is None:
        return code or "—"
    return _SHORT_NAMES.get(region.code, region.name)


def kind_name(key: str) -> str:
    kind = NOTICE_KINDS.get(key)
    return kind.name_zh if kind else key


def trade_kind_name(key: str) -> str:
    return TRADE_KIND_NAMES.get(key, (key, key))[0]


def funding_kind_name(key: str) -> str:
    return FUNDING_KIND_NAMES.get(key, (key, key))[0]


def role_names(roles: Iterable[str]) -> str:
    return "、".join(ROLE_NAMES_ZH.get(r, r) for r in roles)


def audit_action_name(action: str) -> str:
    if action in _AUDIT_ACTIONS:
        return _AUDIT_ACTIONS[action]
    if action.startswith("section."):
        return "标段操作：" + action.removeprefix("section.")
    return action


# --- registration ------------------------------------------------------------------------------------------


def _zoned(fn: Any) -> Any:
    @pass_context
    def filter_(ctx: Context, value: Any) -> str:
        return fn(value, _zone(ctx))

    filter_.__name__ = fn.__name__
    return filter_


def register_filters(engine: JinjaTemplateEngine) -> None:
    """Install the portal's filters and globals (``TemplateConfig(engine_callback=register_filters)``)."""
    env = engine.engine
    env.filters.update(
        {
            "yuan": yuan,
            "wanyuan": wanyuan,
            "number": number,
            "filesize": filesize,
            "local_dt": _zoned(local_datetime),
            "local_date": _zoned(local_date),
            "short_date": _zoned(short_date),
            "short_dt": _zoned(short_datetime),
            "iso_dt": _zoned(machine_datetime),
            "weekday_date": _zoned(weekday_date),
            "paragraphs": paragraphs,
            "short_hash": short_hash,
            "region_name": region_name,
            "region_short": region_short,
            "kind_name": kind_name,
            "trade_kind_name": trade_kind_name,
            "funding_kind_name": funding_kind_name,
            "role_names": role_names,
            "field_label": field_label,
            "display_value": display_value,
            "audit_action": audit_action_name,
        }
    )
    env.tests["heading"] = is_heading
    env.globals.update({"days_left": days_left, "percent": percent})
    env.trim_blocks = True
    env.lstrip_blocks = True
