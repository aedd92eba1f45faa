"""OCDS 1.1 releases built from published notice versions, as pure code (no I/O).

Each published notice version is one release of its project's contracting process (``ocid`` = the
configured prefix and the project's unified trade code): a tender plan a ``planning`` release, the opening
notice a ``tender`` release (a prequalification notice too, as a ``selective`` process, and its result a
``tenderUpdate`` naming the shortlisted firms), an amendment ``tenderAmendment``, a termination or failed
tender ``tenderCancellation``, the opening record a ``tenderUpdate`` carrying the bids extension, candidate
publicity and the result notice ``award`` releases, the contract notice a ``contract`` release. Amounts are
converted from fen to yuan (CNY). Local method names go in ``procurementMethodDetails``. Organisations are
identified by their unified social credit code (scheme ``CN-USCC``) where the platform knows it.

:func:`compile_releases` merges a project's releases into its compiled release (OCDS merge rules:
objects merge field by field, arrays of objects with ``id`` merge by identifier, other arrays and values
are replaced by the newer release).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

OCDS_VERSION = "1.1"
BID_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json"
OPENING_KINDS = ("tender", "procurement", "land_transfer", "property_transfer")


@dataclass(frozen=True)
class Org:
    name: str
    credit_code: str = ""


@dataclass(frozen=True)
class ProjectFacts:
    ocid_prefix: str
    trade_code: str
    name: str
    trade_kind: str  # works | procurement | land | property
    procedure_name_zh: str
    tenderer: Org
    agent: Org | None = None
    budget_fen: int | None = None
    control_price_fen: int | None = None
    #: (kind, description, amount in fen) of each funding source.
    funding: Sequence[tuple[str, str, int]] = ()

    @property
    def ocid(self) -> str:
        return f"{self.ocid_prefix}-{self.trade_code}"


@dataclass(frozen=True)
class PublishedVersion:
    notice_id: int
    version: int
    kind: str
    title: str
    published_at: str  # RFC 3339
    fields: Mapping[str, Any]
    timetable: Mapping[str, Any] = field(default_factory=dict)
    section_ids: Sequence[int] = ()
    content_sha256: str = ""
    url: str = ""
    #: The files published with the notice up to this version (tender documents, drawings, bills of quantities).
    files: Sequence[PublishedFile] = ()


@dataclass(frozen=True)
class PublishedFile:
    """A notice's attachment as the public downloads it."""

    id: int
    filename: str
    media_type: str  # as served; OCDS takes its type/subtype (notices/media_types.py)
    sha256: str
    size: int
    url: str
    published_at: str  # RFC 3339: when the version that first published it was


def amount(fen: int | None) -> dict[str, Any] | None:
    if fen is None:
        return None
    return {"amount": round(fen / 100, 2), "currency": "CNY"}


def party_id(org: Org) -> str:
    if org.credit_code:
        return f"CN-USCC-{org.credit_code}"
    return "name-" + hashlib.sha256(org.name.encode()).hexdigest()[:16]


def _party(org: Org, roles: Iterable[str]) -> dict[str, Any]:
    party: dict[str, Any] = {"id": party_id(org), "name": org.name, "roles": sorted(set(roles))}
    if org.credit_code:
        party["identifier"] = {"scheme": "CN-USCC", "id": org.credit_code, "legalName": org.name}
    return party


def _ref(org: Org) -> dict[str, str]:
    return {"id": party_id(org), "name": org.name}


class _Parties:
    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}

    def add(self, org: Org, *roles: str) -> dict[str, str]:
        entry = self.by_id.setdefault(party_id(org), _party(org, ()))
        entry["roles"] = sorted(set(entry["roles"]) | set(roles))
        return _ref(org)

    def listing(self) -> list[dict[str, Any]]:
        return list(self.by_id.values())


def _section_key(version: PublishedVersion) -> str:
    return f"s{version.section_ids[0]}" if version.section_ids else "s0"


def _document(version: PublishedVersion, document_type: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": f"notice-{version.notice_id}-v{version.version}",
        "documentType": document_type,
        "title": version.title,
        "datePublished": version.published_at,
        "format": "application/json",
        "language": "zh",
    }
    if version.url:
        doc["url"] = version.url
    if version.content_sha256:
        doc["description"] = f"公告文本 SHA-256：{version.content_sha256}"
    return doc


def _documents(version: PublishedVersion, document_type: str) -> list[dict[str, Any]]:
    """The notice's own document, then the files published with it."""
    return [_document(version, document_type), *_files(version, document_type)]


def _files(version: PublishedVersion, document_type: str) -> list[dict[str, Any]]:
    # A tender notice's files are the documentation for bidders (招标文件, drawings, bills of quantities); any
    # other notice's are part of what that notice publishes.
    file_type = "biddingDocuments" if document_type == "tenderNotice" else document_type
    return [
        {
            "id": f"attachment-{f.id}",
            "documentType": file_type,
            "title": f.filename,
            "description": f"附件 SHA-256：{f.sha256}；{f.size} 字节",
            "url": f.url,
            "datePublished": f.published_at,
            "format": f.media_type.partition(";")[0].strip(),
            "language": "zh",
        }
        for f in version.files
    ]


def _add_files(tender: dict[str, Any], version: PublishedVersion, document_type: str) -> None:
    """A notice whose release has no document of its own still lists its files, in the tender's documents."""
    if version.files:
        tender.setdefault("documents", []).extend(_files(version, document_type))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _given(**values: Any) -> dict[str, Any]:
    """The values that say something (a notice's optional field left empty is left out, not sent as "")."""
    return {k: v for k, v in values.items() if v not in ("", None)}


def release(
    project: ProjectFacts, version: PublishedVersion, *, opening_bids: Sequence[Any] | None = None
) -> dict[str, Any]:
    """One release for one published notice version. A ruling on a disputed bid (``dispute_ruling``) also
    updates that bid's status in the opening record's release, given the record's *opening_bids*."""
    parties = _Parties()
    if project.trade_kind in ("works", "procurement"):
        buyer = parties.add(project.tenderer, "buyer", *(() if project.agent else ("procuringEntity",)))
    else:
        buyer = None
        parties.add(project.tenderer, "procuringEntity")
    procuring = parties.add(project.agent, "procuringEntity") if project.agent else _ref(project.tenderer)
    out: dict[str, Any] = {
        "ocid": project.ocid,
        "id": f"{project.trade_code}-notice-{version.notice_id}-v{version.version}",
        "date": version.published_at,
        "initiationType": "tender",
        "language": "zh",
    }
    if buyer is not None:
        out["buyer"] = buyer
    tender: dict[str, Any] = {"id": project.trade_code}
    fields = version.fields
    kind = version.kind
    key = _section_key(version)

    if kind in OPENING_KINDS:
        out["tag"] = ["tender"]
        tender |= _opening_tender(project, version, procuring)
        out |= _planning(project, fields)
    elif kind == "tender_plan":
        out["tag"] = ["planning"]
        out |= _planning(project, fields)
        out.setdefault("planning", {})["documents"] = _documents(version, "procurementPlan")
        tender |= _given(
            title=project.name,
            description=_text(fields.get("project_overview")) or version.title,
            status="planned",
            procuringEntity=procuring,
            procurementMethodDetails="；".join(
                t for t in (_text(fields.get("tender_method")), _text(fields.get("expected_tender_time"))) if t
            ),
            eligibilityCriteria=_text(fields.get("qualification")),
            mainProcurementCategory="works",
        )
        if isinstance(fields.get("estimated_value_fen"), int):
            tender["value"] = amount(fields["estimated_value_fen"])
    elif kind == "prequalification":
        # A prequalified process: only those who pass are invited to bid (OCDS "selective").
        out["tag"] = ["tender"]
        out |= _planning(project, fields)
        method = {"qualified": "合格制", "limited": "有限数量制"}.get(_text(fields.get("review_method")), "")
        tender |= _given(
            title=project.name,
            description=_text(fields.get("project_overview")) or version.title,
            status="active",
            procuringEntity=procuring,
            procurementMethod="selective",
            procurementMethodDetails=f"{project.procedure_name_zh}（资格预审{('，' + method) if method else ''}）",
            mainProcurementCategory="works",
            eligibilityCriteria=_text(fields.get("qualification")),
            submissionMethod=["electronicSubmission"],
            submissionMethodDetails=_text(fields.get("submission_how")),
            documents=_documents(version, "tenderNotice"),
        )
        deadline = version.timetable.get("prequalification_deadline")
        if deadline:
            tender["milestones"] = [
                {
                    "id": f"notice-{version.notice_id}-prequalification-deadline",
                    "title": "资格预审申请文件递交截止",
                    "type": "assessment",
                    "dueDate": deadline,
                    "status": "scheduled",
                }
            ]
    elif kind == "prequalification_result":
        out["tag"] = ["tenderUpdate"]
        passed = [_text(p.get("name")) if isinstance(p, dict) else _text(p) for p in fields.get("passed") or []]
        shortlist = _document(version, "shortlistedFirms")
        shortlist["description"] = (
            f"通过资格预审的申请人（{len(passed)}家，共{fields.get('applicants_count', '—')}家申请）："
            + "、".join(passed)
            + (f"；公告文本 SHA-256：{version.content_sha256}" if version.content_sha256 else "")
        )
        tender["documents"] = [shortlist, *_files(version, "shortlistedFirms")]
    elif kind == "amendment":
        out["tag"] = ["tenderAmendment"]
        tender["amendments"] = [
            {
                "id": f"notice-{version.notice_id}",
                "date": version.published_at,
                "rationale": _text(fields.get("reason")),
                "description": version.title,
            }
        ]
        _add_files(tender, version, "biddingDocuments")  # the revised 招标文件, drawings, bills of quantities
    elif kind == "termination":
        out["tag"] = ["tenderCancellation"]
        tender["status"] = "unsuccessful" if fields.get("outcome") == "failed" else "cancelled"
        tender["amendments"] = [
            {
                "id": f"notice-{version.notice_id}",
                "date": version.published_at,
                "rationale": _text(fields.get("reason")),
            }
        ]
        _add_files(tender, version, "cancellationDetails")
    elif kind == "opening_record":
        out["tag"] = ["tenderUpdate"]
        details, tenderers = _bids(version, parties, key)
        tender["numberOfTenderers"] = len(tenderers)
        tender["tenderers"] = list(tenderers.values())
        valid = [d for d in details if d["status"] == "valid"]
        statistics: list[dict[str, Any]] = [
            {"id": f"{key}-bids", "measure": "bids", "value": len(details), "date": version.published_at},
            {"id": f"{key}-validBids", "measure": "validBids", "value": len(valid), "date": version.published_at},
        ]
        prices = [d["value"]["amount"] for d in valid if "value" in d]
        if prices:
            statistics += [
                {"id": f"{key}-lowest", "measure": "lowestValidBidValue", "value": min(prices), "currency": "CNY"},
                {"id": f"{key}-highest", "measure": "highestValidBidValue", "value": max(prices), "currency": "CNY"},
            ]
        out["bids"] = {"statistics": statistics, "details": details}
        _add_files(tender, version, "bidders")
    elif kind == "candidate_publicity":
        out["tag"] = ["award"]
        out["awards"] = [
            {
                "id": f"{key}-candidate-{c.get('rank', i + 1)}",
                "title": f"第{c.get('rank', i + 1)}名中标候选人",
                "description": _candidate_description(c),
                "status": "pending",
                "date": _text(fields.get("publicity_start")) or version.published_at,
                **({"value": amount(c["price_fen"])} if isinstance(c.get("price_fen"), int) else {}),
                "suppliers": [parties.add(Org(c.get("name", ""), c.get("credit_code", "")), "tenderer")],
            }
            for i, c in enumerate(fields.get("candidates") or [])
            if isinstance(c, dict)
        ]
        _add_files(tender, version, "evaluationReports")
    elif kind == "result":
        out["tag"] = ["award"]
        winner = fields.get("winner")
        name = winner if isinstance(winner, str) else (winner or {}).get("name", "")
        award: dict[str, Any] = {
            "id": f"{key}-award",
            "title": version.title,
            "status": "active",
            "date": version.published_at,
            "suppliers": [parties.add(Org(name, _text(fields.get("winner_credit_code"))), "supplier", "tenderer")],
        }
        if isinstance(fields.get("price_fen"), int):
            award["value"] = amount(fields["price_fen"])
        items = [
            {
                "id": str(i + 1),
                "description": _text(item.get("name")),
                "quantity": item.get("quantity"),
                "unit": {"name": _text(item.get("unit")), "value": amount(item.get("unit_price_fen"))},
            }
            for i, item in enumerate(fields.get("items") or [])
            if isinstance(item, dict)
        ]
        if items:
            award["items"] = items
        award["documents"] = _documents(version, "awardNotice")
        out["awards"] = [award]
    elif kind == "contract":
        out["tag"] = ["contract"]
        contract: dict[str, Any] = {
            "id": f"{key}-contract",
            "awardID": f"{key}-award",
            "title": version.title,
            "status": "active",
            "documents": _documents(version, "contractNotice"),
        }
        if isinstance(fields.get("amount_fen"), int):
            contract["value"] = amount(fields["amount_fen"])
        if isinstance(fields.get("signed_on"), str) and fields["signed_on"]:
            signed = fields["signed_on"]
            # a contract record gives the day it was signed: OCDS wants a date-time (midnight, China time)
            contract["dateSigned"] = f"{signed}T00:00:00+08:00" if len(signed) == 10 else signed
        if fields.get("term"):
            contract["description"] = f"合同期限：{fields['term']}"
        if fields.get("document_sha256"):
            contract["documents"].append(
                {
                    "id": f"contract-{fields['document_sha256'][:16]}",
                    "documentType": "contractSigned",
                    "title": "合同文本",
                    "description": f"合同文本 SHA-256：{fields['document_sha256']}",
                }
            )
        for p in fields.get("parties") or []:
            if isinstance(p, dict) and p.get("role") == "乙方":
                parties.add(Org(_text(p.get("name")), _text(p.get("credit_code"))), "supplier")
        out["contracts"] = [contract]
    elif kind in ("objection_reply", "dispute_ruling"):
        out["tag"] = ["tenderUpdate"]
        tender["documents"] = _documents(version, "complaints")
        ruled = _ruled_bid(version, opening_bids or (), key) if kind == "dispute_ruling" else None
        if ruled is not None:
            out["bids"] = {"details": [ruled]}
    else:
        out["tag"] = ["tenderUpdate"]
    if len(tender) > 1:
        out["tender"] = tender
    out["parties"] = parties.listing()
    return out


def _planning(project: ProjectFacts, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The project's budget and its sources, when the platform knows them."""
    budget = project.budget_fen or sum(f[2] for f in project.funding) or None
    if not budget:
        return {}
    return {
        "planning": {
            "budget": {
                "id": project.trade_code,
                "description": "；".join(f"{k}{('（' + d + '）') if d else ''}" for k, d, _ in project.funding)
                or _text(fields.get("funding_source")),
                "amount": amount(budget),
                "projectID": project.trade_code,
                "project": project.name,
            }
        }
    }


def _opening_tender(project: ProjectFacts, version: PublishedVersion, procuring: dict[str, str]) -> dict[str, Any]:
    fields, timetable = version.fields, version.timetable
    tender: dict[str, Any] = {
        "title": project.name,
        "description": _text(fields.get("project_overview") or fields.get("subject") or fields.get("requirements"))
        or version.title,
        "status": "active",
        "procuringEntity": procuring,
        "procurementMethod": "open",
        "procurementMethodDetails": project.procedure_name_zh,
        "submissionMethod": ["electronicSubmission"],
        "documents": _documents(version, "tenderNotice"),
    }
    category = {"works": "works", "land": None, "property": None}.get(project.trade_kind, None)
    if category:
        tender["mainProcurementCategory"] = category
    price = (
        fields.get("ceiling_price_fen")
        or fields.get("budget_fen")
        or fields.get("starting_price_fen")
        or fields.get("listing_price_fen")
        or project.control_price_fen
        or project.budget_fen
    )
    if isinstance(price, int):
        tender["value"] = amount(price)
    start = timetable.get("documents_issued") or timetable.get("notice_published") or version.published_at
    end = timetable.get("bid_deadline") or timetable.get("listing_end") or timetable.get("auction_start")
    tender["tenderPeriod"] = {"startDate": start, **({"endDate": end} if end else {})}
    return tender


def _bids(
    version: PublishedVersion, parties: _Parties, key: str
) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    details: list[dict[str, Any]] = []
    tenderers: dict[str, dict[str, str]] = {}
    for i, bid in enumerate(version.fields.get("bids") or []):
        if not isinstance(bid, dict) or bid.get("state") == "replaced":
            continue
        org = Org(_text(bid.get("bidder")), _text(bid.get("bidder_credit_code")))
        ref = parties.add(org, "tenderer")
        tenderers[ref["id"]] = ref
        status = _bid_status(bid)
        detail: dict[str, Any] = {"id": f"{key}-bid-{i + 1}", "status": status, "tenderers": [ref]}
        if bid.get("received_at"):
            detail["date"] = bid["received_at"]
        price = (bid.get("form") or {}).get("total_price_fen") if isinstance(bid.get("form"), dict) else None
        price = price if isinstance(price, int) else bid.get("price_fen")
        if isinstance(price, int) and status == "valid":
            detail["value"] = amount(price)
        details.append(detail)
    return details, tenderers


#: How a bid the opening did not open counts (20号令 §31, the opening record's ``treated_as``) as an OCDS bid
#: status: the bidder's fault makes it void (disqualified); anyone else's counts as withdrawn; a dispute awaits
#: the supervisors' ruling (pending), whose release then gives the status it ruled.
_TREATED_AS = {"revoked": "disqualified", "withdrawn": "withdrawn", "pending_ruling": "pending"}


def _bid_status(bid: Mapping[str, Any]) -> str:
    outcome = bid.get("outcome")
    if outcome in (None, "active"):
        return "pending"
    if outcome == "opened":
        return "valid"
    if outcome == "withdrawn":  # by the bidder, before the deadline
        return "withdrawn"
    return _TREATED_AS.get(bid.get("treated_as"), "disqualified")


def _ruled_bid(version: PublishedVersion, opening_bids: Sequence[Any], key: str) -> dict[str, Any] | None:
    """The ruled bid's detail as the opening record's release names it (its position in the record), with the
    status the ruling gives it; None if the record does not hold the bid."""
    fields = version.fields
    status = _TREATED_AS.get(fields.get("treated_as"))
    for i, bid in enumerate(opening_bids):
        if isinstance(bid, dict) and bid.get("manifest_sha256") == fields.get("manifest_sha256") and status:
            return {"id": f"{key}-bid-{i + 1}", "status": status}
    return None


def _candidate_description(c: Mapping[str, Any]) -> str:
    parts = []
    for label, k in (("质量", "quality"), ("项目负责人", "project_leader"), ("证书", "certificate"), ("得分", "score")):
        if c.get(k) not in (None, ""):
            parts.append(f"{label}：{c[k]}")
    if c.get("duration_days"):
        parts.append(f"工期：{c['duration_days']}日历天")
    return "；".join(parts)


@dataclass(frozen=True)
class Transaction:
    payment_id: int
    paid_on: str  # ISO date
    recorded_at: str  # RFC 3339
    amount_fen: int
    payer: Org
    payee: Org
    purpose: str
    evidence_sha256: str


def implementation_release(project: ProjectFacts, contract_key: str, tx: Transaction) -> dict[str, Any]:
    """One payment under the project's contract: an ``implementation`` release with its transaction."""
    parties = _Parties()
    payer, payee = parties.add(tx.payer, "payer"), parties.add(tx.payee, "payee")
    return {
        "ocid": project.ocid,
        "id": f"{project.trade_code}-payment-{tx.payment_id}",
        "date": tx.recorded_at,
        "tag": ["implementation"],
        "initiationType": "tender",
        "language": "zh",
        "parties": parties.listing(),
        "contracts": [
            {
                "id": f"{contract_key}-contract",
                "awardID": f"{contract_key}-award",
                "implementation": {
                    "transactions": [
                        {
                            "id": str(tx.payment_id),
                            "source": f"sha256:{tx.evidence_sha256}",
                            "date": f"{tx.paid_on}T00:00:00+08:00",
                            "value": amount(tx.amount_fen),
                            "payer": payer,
                            "payee": payee,
                        }
                    ]
                },
            }
        ],
    }


# --- the compiled release ----------------------------------------------------------------------------------


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    for k, v in new.items():
        if v is None:
            into.pop(k, None)
        elif isinstance(v, dict):
            target = into.get(k)
            if not isinstance(target, dict):
                target = into[k] = {}
            _merge(target, v)
        elif isinstance(v, list) and v and all(isinstance(x, dict) and "id" in x for x in v):
            existing = into.get(k) if isinstance(into.get(k), list) else []
            by_id = {x.get("id"): x for x in existing if isinstance(x, dict)}
            order = [x.get("id") for x in existing if isinstance(x, dict)]
            for item in v:
                if item["id"] in by_id:
                    _merge(by_id[item["id"]], item)
                else:
                    by_id[item["id"]] = copy.deepcopy(item)
                    order.append(item["id"])
            into[k] = [by_id[i] for i in order]
        else:
            into[k] = copy.deepcopy(v)


def compile_releases(releases: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The compiled release: the releases merged in date order (newer values win)."""
    if not releases:
        raise ValueError("no releases")
    ordered = sorted(releases, key=lambda r: (r["date"], r["id"]))
    compiled: dict[str, Any] = {}
    for r in ordered:
        _merge(compiled, {k: v for k, v in r.items() if k not in ("id", "tag", "date")})
    compiled["id"] = f"{ordered[-1]['ocid']}-compiled"
    compiled["date"] = ordered[-1]["date"]
    compiled["tag"] = ["compiled"]
    return compiled
