"""Notice kinds (公告类型) and the fields each must carry (RULES.md, "What notices must say").

Pure data: the publishing service refuses a notice whose required fields are missing, naming them.
"""

from __future__ import annotations

import msgspec


class FieldSpec(msgspec.Struct, frozen=True):
    key: str
    name_zh: str
    name_en: str
    #: "text", "money" (integer fen), "int", "number", "datetime", "date" (YYYY-MM-DD), "list", "object", "bool"
    type: str = "text"
    required: bool = True
    source: str = ""


class NoticeKind(msgspec.Struct, frozen=True):
    key: str
    name_zh: str
    name_en: str
    #: Trade kinds this notice belongs to ("works", "procurement", "land", "property"); empty = any.
    trade_kinds: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    #: Whether publishing it opens the trade (moves its sections into tendering/listing) and checks periods.
    opens_trade: bool = False
    #: Whether it acts on another notice (amendment, termination).
    targets_notice: bool = False
    #: Whether a later issue fills it from the platform's own records (opening record, result …).
    produced_by_platform: bool = False
    #: What a reader should know about the kind that no field says (shown on the notice page).
    note_zh: str = ""
    note_en: str = ""


def _f(key: str, zh: str, en: str, type: str = "text", required: bool = True, source: str = "") -> FieldSpec:
    return FieldSpec(key=key, name_zh=zh, name_en=en, type=type, required=required, source=source)


_CONTACTS = (
    _f("tenderer_contact", "招标人联系方式", "Tenderer contact", source="10号令 §8"),
    _f("agent_contact", "代理机构联系方式", "Agent contact", required=False, source="10号令 §8"),
)

_TENDER_COMMON = (
    _f(
        "project_overview",
        "项目概况（内容、规模、范围）",
        "Project content, scope and size",
        source="10号令 §8",
    ),
    _f("funding_source", "资金来源", "Source of funds", source="10号令 §8"),
    _f("qualification", "投标人资格要求", "Qualification requirements", source="10号令 §8"),
    _f("consortium_allowed", "是否接受联合体投标", "Consortia accepted", "bool", source="10号令 §8"),
    _f("documents_how", "招标文件的获取方式", "How to obtain the tender documents", source="10号令 §8"),
    _f("submission_how", "投标文件递交方式", "How to submit bids", source="10号令 §8"),
    *_CONTACTS,
)

#: 资格预审公告 (条例 §15–§19; 《标准施工招标资格预审文件》第一章): it says what a tender notice says about the
#: project and how to take part; its documents' sale and the application deadline are checked against 条例 §16–§17
#: on publication (notices.advance).
_PREQUALIFICATION = (
    _f("project_overview", "项目概况（内容、规模、范围）", "Project content, scope and size", source="10号令 §8"),
    _f("funding_source", "资金来源", "Source of funds", source="10号令 §8"),
    _f("qualification", "申请人资格要求", "Qualification requirements for applicants", source="10号令 §8"),
    _f(
        "consortium_allowed",
        "是否接受联合体资格预审申请",
        "Consortia may apply",
        "bool",
        source="《标准施工招标资格预审文件》",
    ),
    _f(
        "review_method",
        "资格审查方法",
        "Review method: qualified (合格制) or limited (有限数量制)",
        source="《标准施工招标资格预审文件》",
    ),
    _f(
        "shortlist_size",
        "有限数量制的通过数量",
        "How many pass under the limited-number method",
        "int",
        required=False,
        source="《标准施工招标资格预审文件》",
    ),
    _f("documents_how", "资格预审文件的获取方式", "How to obtain the prequalification documents", source="10号令 §8"),
    _f("submission_how", "资格预审申请文件的递交方式", "How to submit an application", source="10号令 §8"),
    *_CONTACTS,
)

NOTICE_KINDS: dict[str, NoticeKind] = {
    k.key: k
    for k in (
        NoticeKind(
            key="tender_plan",
            name_zh="招标计划",
            name_en="Tender plan (advance notice)",
            trade_kinds=("works",),
            fields=(
                _f("project_overview", "项目概况（建设内容、规模）", "Project content and size"),
                _f(
                    "estimated_value_fen",
                    "估算合同金额（分）",
                    "Estimated contract value (fen)",
                    "money",
                ),
                _f("expected_tender_time", "预计招标时间", "When the tender is expected"),
                _f("tender_method", "招标方式", "Tendering method"),
                _f("qualification", "预计投标人资格要求", "Qualifications expected of bidders"),
                _f("funding_source", "资金来源", "Source of funds", required=False),
                _f("tenderer_contact", "招标人联系方式", "Tenderer contact"),
                _f("agent_contact", "代理机构联系方式", "Agent contact", required=False),
            ),
            note_zh=(
                "招标计划是招标人对即将开展的招标的提前告知，便于潜在投标人提前准备，不是招标公告，不据此接受投标。"
                "多地要求招标计划在招标公告发布前一定时间（如10日）发布；国家层面未规定统一期限，本平台不作强制，"
                "以招标人正式发布的招标公告为准。"
            ),
            note_en=(
                "A tender plan tells would-be bidders what is coming; it is not a tender notice and no bids are taken "
                "on it. Many provinces want it published some days (often 10) before the tender notice; there is no "
                "national period, so the platform does not enforce one."
            ),
        ),
        NoticeKind(
            key="prequalification",
            name_zh="资格预审公告",
            name_en="Prequalification notice",
            trade_kinds=("works",),
            fields=_PREQUALIFICATION,
            note_zh=(
                "资格预审公告不开启投标：资格预审结束后，招标人向通过资格预审的申请人发出投标邀请书，"
                "平台在公布资格预审结果后发布的招标公告（投标邀请书）开启投标（《招标投标法实施条例》第十九条）。"
            ),
            note_en=(
                "A prequalification notice takes no bids: after the review the tenderer invites those who passed, "
                "and the tender notice (invitation to bid) published after the result opens bidding (Regulations, "
                "Art. 19)."
            ),
        ),
        NoticeKind(
            key="prequalification_result",
            name_zh="资格预审结果公告",
            name_en="Prequalification result",
            trade_kinds=("works",),
            fields=(
                _f("applicants_count", "资格预审申请人数量", "Number of applicants", "int", source="条例 §19"),
                _f(
                    "passed",
                    "通过资格预审的申请人",
                    "Applicants who passed",
                    "list",
                    source="条例 §19",
                ),
                _f("review_summary", "资格审查情况", "How the review was done", required=False, source="条例 §18"),
                _f("next_steps", "后续安排", "What happens next", required=False),
            ),
            targets_notice=True,
        ),
        NoticeKind(
            key="tender",
            name_zh="招标公告",
            name_en="Tender notice",
            trade_kinds=("works",),
            fields=_TENDER_COMMON,
            opens_trade=True,
        ),
        NoticeKind(
            key="procurement",
            name_zh="采购公告",
            name_en="Procurement notice",
            trade_kinds=("procurement",),
            fields=(
                *_TENDER_COMMON,
                _f("budget_fen", "预算金额（分）", "Budget (fen)", "money", source="87号令 §13"),
                _f("ceiling_price_fen", "最高限价（分）", "Ceiling price (fen)", "money", False, "87号令 §13"),
                _f("requirements", "采购需求", "Procurement requirements", source="87号令 §13"),
                _f(
                    "document_price_fen",
                    "采购文件售价（分）",
                    "Price of the documents (fen)",
                    "money",
                    source="87号令 §13",
                ),
                _f("opening_place", "开标地点", "Opening place", source="87号令 §13"),
            ),
            opens_trade=True,
        ),
        NoticeKind(
            key="land_transfer",
            name_zh="国有建设用地使用权出让公告",
            name_en="Land-use rights transfer notice",
            trade_kinds=("land",),
            fields=(
                _f("parcel_no", "宗地编号", "Parcel number", source="39号令"),
                _f("location", "宗地坐落", "Location", source="39号令"),
                _f("area_m2", "出让面积（平方米）", "Area (m²)", "number", source="39号令"),
                _f("land_use", "土地用途", "Land use", source="39号令"),
                _f("plot_ratio_min", "容积率下限", "Plot ratio (min)", "number", source="39号令"),
                _f("plot_ratio_max", "容积率上限", "Plot ratio (max)", "number", source="39号令"),
                _f("tenure_years", "出让年限（年）", "Tenure (years)", "int", source="39号令"),
                _f("starting_price_fen", "起始价（分）", "Starting price (fen)", "money", source="39号令"),
                _f("increment_fen", "增价幅度（分）", "Increment (fen)", "money", source="39号令"),
                _f("deposit_fen", "竞买保证金（分）", "Deposit (fen)", "money", source="39号令"),
                _f(
                    "reserve_price_set",
                    "是否设有底价",
                    "Whether a reserve price is set",
                    "bool",
                    source="practice",
                ),
                _f("bidder_requirements", "竞买人资格要求", "Bidder requirements", source="39号令"),
                _f("transferor_contact", "出让人联系方式", "Transferor contact", source="39号令"),
            ),
            opens_trade=True,
        ),
        NoticeKind(
            key="property_transfer",
            name_zh="国有产权转让公告",
            name_en="State-owned property rights transfer notice",
            trade_kinds=("property",),
            fields=(
                _f("subject", "转让标的", "What is transferred"),
                _f("transferor_name", "转让方", "Transferor"),
                _f("listing_price_fen", "挂牌价（分）", "Listing price (fen)", "money"),
                _f("deposit_fen", "交易保证金（分）", "Deposit (fen)", "money"),
                _f("transferee_requirements", "受让方资格条件", "Transferee requirements"),
                _f("transferor_contact", "转让方联系方式", "Transferor contact"),
            ),
            opens_trade=True,
        ),
        NoticeKind(
            key="amendment",
            name_zh="变更/澄清公告",
            name_en="Amendment / clarification notice",
            trade_kinds=(),
            fields=(
                _f(
                    "affects_bids",
                    "是否影响投标文件编制",
                    "Affects how bids are prepared",
                    "bool",
                    source="法 §23",
                ),
                _f("reason", "变更/澄清事由", "Reason for the change"),
                _f(
                    "changes",
                    "变更内容（时间表、字段、标题、正文）",
                    "What changes (timetable, fields, title, body)",
                    "object",
                    False,
                ),
            ),
            targets_notice=True,
        ),
        NoticeKind(
            key="termination",
            name_zh="终止/流标公告",
            name_en="Termination / failed-tender notice",
            trade_kinds=(),
            fields=(
                _f("outcome", "结果（终止或流标）", "Outcome (terminated or failed)"),
                _f("reason", "原因", "Reason"),
                _f("next_steps", "后续安排", "What happens next", required=False),
            ),
            targets_notice=True,
        ),
        NoticeKind(
            key="opening_record",
            name_zh="开标记录",
            name_en="Opening record",
            trade_kinds=(),
            fields=(
                _f("opened_at", "开标时间", "Opened at", "datetime", source="20号令 §32"),
                _f("bids", "投标人及开标一览", "Bidders and opening figures", "list", source="20号令 §30"),
            ),
            produced_by_platform=True,
        ),
        NoticeKind(
            key="dispute_ruling",
            name_zh="开标分片异议裁定",
            name_en="Ruling on a bid disputed at the opening",
            trade_kinds=(),
            fields=(
                _f("bidder", "投标人", "Bidder"),
                _f("manifest_sha256", "投标文件（清单）摘要", "The bid's manifest SHA-256"),
                _f("opening_record_notice_id", "开标记录", "Opening record (notice id)", "int"),
                _f("treated_as", "裁定结果", "How the bid counts (revoked / withdrawn)", source="20号令 §31"),
                _f("reason", "裁定理由", "Why"),
                _f("ruled_at", "裁定时间", "Ruled at", "datetime"),
            ),
            produced_by_platform=True,
        ),
        NoticeKind(
            key="candidate_publicity",
            name_zh="中标候选人公示",
            name_en="Candidate publicity",
            trade_kinds=("works", "procurement", "land"),
            fields=(
                _f(
                    "candidates",
                    "中标候选人（排序、名称、报价、质量、工期、项目负责人及证书、资格情况）",
                    "Ranked candidates with price, quality, duration, project leader, qualifications",
                    "list",
                    source="10号令 §12",
                ),
                _f("evaluation_summary", "评标情况", "Evaluation summary", source="10号令 §12"),
                _f("publicity_start", "公示开始", "Publicity starts", "datetime", source="条例 §54"),
                _f("publicity_end", "公示结束", "Publicity ends", "datetime", source="条例 §54"),
                _f("objection_how", "异议渠道", "How to object", source="10号令 §12"),
            ),
            produced_by_platform=True,
        ),
        NoticeKind(
            key="objection_reply",
            name_zh="异议答复",
            name_en="Reply to an objection",
            trade_kinds=(),
            fields=(
                _f("objection_received_at", "异议收到时间", "Objection received at", "datetime", source="条例 §54"),
                _f("objection_subject", "异议事由", "What the objection is about", source="条例 §54"),
                _f("outcome", "答复结论", "Outcome (dismissed / upheld)", source="条例 §54"),
                _f("reply", "答复内容", "Reply", source="条例 §54"),
            ),
            produced_by_platform=True,
        ),
        NoticeKind(
            key="result",
            name_zh="中标/成交结果公告",
            name_en="Award / transaction result notice",
            trade_kinds=(),
            fields=(
                _f("winner", "中标（成交）人", "Winner", source="10号令 §13"),
                _f("price_fen", "中标（成交）金额（分）", "Award amount (fen)", "money", source="10号令 §13"),
                _f("duration_days", "工期/服务期（日）", "Duration (days)", "int", False, "10号令 §13"),
                _f("project_leader", "项目负责人", "Project leader", required=False, source="10号令 §13"),
                _f("winner_address", "中标人地址", "Winner's address", required=False, source="87号令 §69"),
                _f(
                    "items",
                    "主要标的（名称、数量、单价）",
                    "Main items (name, quantity, unit price)",
                    "list",
                    False,
                    "87号令 §69",
                ),
                _f("evaluation_panel", "评审专家名单", "Evaluation panel", "list", False, "87号令 §69"),
                # A transfer's contract date, fixed by its confirmation of the sale; a tender's or a procurement's is
                # the law's 30 days after this notice (trading.funds.contracts).
                _f(
                    "contract_due_on",
                    "合同签订期限（成交确认书约定）",
                    "Contract to be signed by (as the confirmation of the sale fixes)",
                    "date",
                    False,
                    "成交确认书",
                ),
            ),
            produced_by_platform=True,
        ),
        NoticeKind(
            key="contract",
            name_zh="合同公示",
            name_en="Contract publicity",
            trade_kinds=(),
            fields=(
                _f("parties", "合同当事人", "Parties", "list", source="采购条例 §50"),
                _f("amount_fen", "合同金额（分）", "Contract amount (fen)", "money", source="采购条例 §50"),
                _f("signed_on", "签订日期", "Signed on", "datetime", source="采购条例 §50"),
                _f("term", "合同期限", "Contract term", source="20号令 §41"),
                _f("document_sha256", "合同文本SHA-256", "SHA-256 of the contract document"),
            ),
            produced_by_platform=True,
        ),
    )
}

#: Which notice opens each trade kind.
OPENING_NOTICE_FOR_TRADE_KIND = {
    "works": "tender",
    "procurement": "procurement",
    "land": "land_transfer",
    "property": "property_transfer",
}


def missing_fields(kind: NoticeKind, fields: dict[str, object]) -> list[FieldSpec]:
    """Required fields that are absent or empty."""
    return [f for f in kind.fields if f.required and fields.get(f.key) in (None, "", [], {})]
