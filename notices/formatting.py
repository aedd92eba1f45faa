"""Formatting for the portal's templates: money in 元, times in the platform's zone, structured notice fields.

Plain functions on plain values (no I/O); :func:`register_filters` installs them in the Jinja environment as
filters and globals. Values shown to people are built here as small display trees (text, key–value pairs,
tables, lists) so that templates never mark anything safe.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import pass_context
from jinja2.runtime import Context
from litestar.plugins.jinja import JinjaTemplateEngine

from bidding.envelope import errors as envelope_errors
from notices import media_types
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
    "credit_code": "统一社会信用代码",
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
    "winner_credit_code": "中标人统一社会信用代码",
    "purchaser": "采购人/招标人",
    "agency": "招标代理机构",
    "trade_code": "交易编码",
    "report_sha256": "评标报告摘要（SHA-256）",
    "draw_seed_sha256": "评标专家抽取种子摘要（SHA-256）",
    "winner_key": "中标人代码",
    "section_tag_key": "标段事件标签密钥",
}

#: Codes that have a Chinese name in a given field.
_VALUE_NAMES = {
    "outcome": {"terminated": "终止", "failed": "流标", "opened": "已开启", "withdrawn": "已撤回"},
    "review_method": {"qualified": "合格制", "limited": "有限数量制"},
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
    "contract.overdue": "预警：逾期未订立合同",
    "objection.overdue": "预警：异议逾期未答复",
    "complaint.acceptance_overdue": "预警：投诉逾期未决定是否受理",
    "complaint.ruling_overdue": "预警：投诉逾期未作出处理决定",
    "bid.rule": "裁定有分片异议的投标",
    "bid.disputed": "预警：开标分片异议待裁定",
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


def money(fen: int | None) -> str:
    """Integer fen as people read an amount: 元, and 万元 beside it once it reaches 1 万元."""
    if fen is None:
        return "—"
    if abs(int(fen)) < 1_000_000:
        return yuan(fen)
    return f"{yuan(fen)}（{wanyuan(fen)}）"


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
            return {"kind": "text", "text": money(value)}
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
        if type == "date":
            try:
                return {"kind": "text", "text": local_date(date.fromisoformat(value))}
            except ValueError:
                pass
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


#: Fields a page shows in its own section rather than as a row of 公告要素: the opening committee of a notice
#: that takes sealed bids has its own, and the opening record shows all of its fields in its own sections.
_OWN_SECTION: dict[str, set[str] | None] = {"opening_record": None}
_OWN_SECTION_DEFAULT = {"committee"}
#: Machine data: values people do not read but check (hashes, internal codes); shown under 核验数据.
_MACHINE_KEYS = {"winner_key", "section_tag_key"}


def is_machine_key(key: str) -> bool:
    return key in _MACHINE_KEYS or key.endswith("_sha256")


def notice_field_rows(kind_key: str, fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The notice's structured fields as labelled rows: the kind's own fields in order, then any others.

    Machine data (:func:`is_machine_key`) and fields shown in their own section are left out."""
    own = _OWN_SECTION.get(kind_key, _OWN_SECTION_DEFAULT)
    if own is None:
        return []
    fields = {k: v for k, v in fields.items() if k not in own and not (is_machine_key(k) and isinstance(v, str))}
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


def machine_rows(fields: Mapping[str, Any]) -> list[dict[str, str]]:
    """The notice's top-level machine values (hashes, codes) as labelled rows, for the 核验数据 section."""
    return [
        {"key": k, "label": field_label(k), "value": v}
        for k, v in fields.items()
        if is_machine_key(k) and isinstance(v, str) and v
    ]


# --- opening committees and opening records ------------------------------------------------------------------

#: The opening form's fields (price_form.required) as a citizen reads them.
_FORM_FIELDS = {
    "total_price_fen": "投标总价",
    "duration_days": "工期",
    "quality": "质量",
    "unit_price_fen": "单价",
    "project_leader": "项目负责人",
}
_REASONS = {
    cls.code: cls.default_zh
    for cls in vars(envelope_errors).values()
    if isinstance(cls, type) and issubclass(cls, envelope_errors.EnvelopeError) and isinstance(cls.code, str)
}
_TREATED_AS = {"revoked": "视为撤销投标", "withdrawn": "视为撤回投标"}


def key_fingerprint(public_key_b64: str | None) -> str:
    """The first 16 hex digits of the SHA-256 of a base64 public key's bytes (compare with ``bidding`` output)."""
    if not public_key_b64:
        return "—"
    try:
        raw = base64.b64decode(public_key_b64, validate=True)
    except (binascii.Error, ValueError):
        return "—"
    return hashlib.sha256(raw).hexdigest()[:16]


def _form_order(key: Any) -> tuple[int, str]:
    order = list(_FORM_FIELDS)
    return (order.index(key) if key in order else len(order), str(key))


def form_field_name(key: str) -> str:
    return _FORM_FIELDS.get(key, key)


def committee_view(committee: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A tender's opening committee (开标小组) for the page: threshold, members with key fingerprints, form fields."""
    if not committee:
        return None
    members = [
        {
            "position": m.get("position"),
            "name": m.get("name") or f"第 {m.get('position')} 号开标人",
            "fingerprint": key_fingerprint(m.get("public_key")),
        }
        for m in committee.get("members", [])
        if isinstance(m, Mapping)
    ]
    required = (committee.get("price_form") or {}).get("required") or []
    return {
        "k": committee.get("k"),
        "n": committee.get("n"),
        "suite": committee.get("suite", ""),
        "members": sorted(members, key=lambda m: m["position"] or 0),
        "form_fields": [form_field_name(str(f)) for f in sorted(required, key=_form_order)],
    }


def fault_name(fault: str | None) -> str:
    """Whose fault a failed opening is: 投标人, 交易平台, 第 1、3 号开标人."""
    if not fault:
        return "—"
    if fault == "bidder":
        return "投标人"
    if fault == "platform":
        return "交易平台"
    if fault.startswith("opener:"):
        return "第 " + "、".join(fault.removeprefix("opener:").split(",")) + " 号开标人"
    return fault


def opening_result(entry: Mapping[str, Any]) -> tuple[str, str]:
    """A bid's (or sealed reserve price's) decryption result in Chinese, and a status class for its cell."""
    state, outcome = entry.get("state"), entry.get("outcome")
    if state == "withdrawn" or outcome == "withdrawn":
        return "已撤回", "withdrawn"
    if state == "replaced" or outcome == "replaced":
        return "已被替换", "replaced"
    if outcome == "opened":
        return "已解密", "opened"
    if outcome == "disputed":
        return "有异议，待裁定", "disputed"
    if outcome == "failed":
        reason = entry.get("reason") or ""
        text = f"解密失败（{_REASONS.get(reason, reason) or '原因未载明'}，责任方：{fault_name(entry.get('fault'))}）"
        treated = _TREATED_AS.get(entry.get("treated_as") or "")
        return (f"{text}，{treated}" if treated else text), "failed"
    return str(outcome or state or "—"), "other"


def _form_text(form: Mapping[str, Any] | None, key: str) -> str:
    if not form or form.get(key) in (None, ""):
        return "—"
    value = form[key]
    if key.endswith("_fen") and isinstance(value, int):
        return yuan(value).removeprefix("¥").removesuffix(" 元")
    return number(value) if isinstance(value, int) else str(value)


def opening_record_view(fields: Mapping[str, Any], member_names: Mapping[int, str] | None = None) -> dict[str, Any]:
    """An opening record's fields as the page shows them: the bids table, the sealed reserve or control
    price, the opening time and the openers who uploaded; the rest is machine data, linked as JSON."""
    names = member_names or {}
    bids = [b for b in fields.get("bids", []) if isinstance(b, Mapping)]
    shown = {"total_price_fen", "duration_days", "quality"}
    extra: list[str] = []
    for b in bids:
        extra.extend(k for k in (b.get("form") or {}) if k not in shown and k not in extra)
    rows = []
    for b in bids:
        result, status = opening_result(b)
        form = b.get("form") or {}
        rows.append(
            {
                "bidder": b.get("bidder", "—"),
                "credit_code": b.get("bidder_credit_code", "—"),
                "price": _form_text(form, "total_price_fen"),
                "duration": _form_text(form, "duration_days"),
                "quality": _form_text(form, "quality"),
                "extra": [_form_text(form, k) for k in extra],
                "result": result,
                "status": status,
                "received_at": as_datetime(b.get("received_at")),
                "manifest_sha256": b.get("manifest_sha256", ""),
            }
        )
    reserves = []
    for r in fields.get("reserve_prices", []):
        result, status = opening_result(r)
        form = r.get("form") or {}
        price = form.get("total_price_fen")
        reserves.append(
            {
                "kind": r.get("kind_zh") or r.get("kind", ""),
                "price": yuan(price) if isinstance(price, int) else "—",
                "result": result,
                "status": status,
            }
        )
    committee = fields.get("committee") or {}
    uploaded = [{"position": p, "name": names.get(p, "")} for p in committee.get("uploaded", []) if isinstance(p, int)]
    tender = fields.get("tender_notice") or {}
    return {
        "opened_at": as_datetime(fields.get("opened_at")),
        "deadline": as_datetime(fields.get("deadline")),
        "section_code": fields.get("section_code", ""),
        "extra_columns": [form_field_name(k) for k in extra],
        "bids": rows,
        "reserves": reserves,
        "k": committee.get("k"),
        "n": committee.get("n"),
        "shares_close_at": as_datetime(committee.get("shares_close_at")),
        "uploaded": uploaded,
        "tender_notice_id": tender.get("notice_id"),
        "tender_version": tender.get("version"),
        "tender_sha256": tender.get("content_sha256", ""),
        "checkpoint_size": (fields.get("deadline_checkpoint") or {}).get("size"),
        "opened_count": sum(1 for r in rows if r["status"] == "opened"),
    }


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


_ALERT_KINDS = {
    "over_contract": "付款超过合同金额",
    "payee_not_contractor": "收款人不是合同乙方",
    "contract_late": "合同逾期订立",
    "contract_amount_differs": "合同金额与中标金额不符",
    "contract_overdue": "中标（成交）后逾期未订立合同",
    "publicity_late": "中标候选人逾期公示",
    "objection_reply_late": "异议逾期答复",
    "objection_reply_overdue": "异议逾期未答复",
    "complaint_acceptance_overdue": "投诉逾期未决定是否受理",
    "complaint_ruling_overdue": "投诉逾期未作出处理决定",
    "bid_disputed": "开标分片异议待裁定",
}


def alert_kind_name(kind: str) -> str:
    return _ALERT_KINDS.get(kind, kind)


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
            "money": money,
            "wanyuan": wanyuan,
            "number": number,
            "filesize": filesize,
            "file_kind": media_types.label,
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
            "alert_kind": alert_kind_name,
        }
    )
    env.tests["heading"] = is_heading
    env.globals.update({"days_left": days_left, "percent": percent})
    env.trim_blocks = True
    env.lstrip_blocks = True
