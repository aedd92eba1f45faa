"""Rules as data: each procedure kind's states, the acts that move between them, and its statutory periods.

Every period rule carries its source (law and article) so that a refusal names it; rules marked
``configurable`` are practice or unverified defaults (see RULES.md) that staff may relax or tighten.

Timetable event keys (a section's timetable maps these to timezone-aware datetimes):

=========================== ============================================================================
key                         meaning
=========================== ============================================================================
notice_published            the notice is published (set by the platform to the publish time, never typed)
documents_issued            tender / procurement documents first issued (招标文件发出、开始获取)
documents_sale_start        first day the documents can be obtained (获取文件期间 — start)
documents_sale_end          last day the documents can be obtained (获取文件期间 — end)
bid_deadline                bid (or response) deadline (投标截止 / 响应文件提交截止)
prequalification_deadline   prequalification applications due (资格预审申请文件递交截止)
opening                     opening of the bids (开标)
notice_period_end           last day of the procurement notice period (公告期限届满; 单一来源公示期满)
listing_start               land listing starts (挂牌开始)
listing_end                 land listing ends (挂牌截止)
auction_start               land auction starts (拍卖开始)
disclosure_end              end of the property-transfer disclosure (产权转让信息披露期满)
=========================== ============================================================================

Counting (see :mod:`trading.rules.periods`): ``after_start`` does not count the start day (《民法典》
第二百零一条); ``inclusive`` counts both ends and is used for spans during which something is
available every day (documents on sale, a listing). Notice periods are counted ``after_start``:
a notice published on a Monday with a 5-working-day period can end no earlier than the next Monday.
That is the stricter reading; a centre that counts the publish day can relax it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import msgspec

from trading.errors import Forbidden, RuleViolation

#: Timetable event key -> (中文, English) for messages.
EVENTS: dict[str, tuple[str, str]] = {
    "notice_published": ("公告发布", "publication of the notice"),
    "documents_issued": ("招标文件发出", "issue of the tender documents"),
    "documents_sale_start": ("文件获取开始", "first day the documents can be obtained"),
    "documents_sale_end": ("文件获取截止", "last day the documents can be obtained"),
    "bid_deadline": ("投标截止", "bid deadline"),
    "prequalification_deadline": ("资格预审申请截止", "prequalification application deadline"),
    "opening": ("开标", "opening"),
    "notice_period_end": ("公告期限届满", "end of the notice period"),
    "listing_start": ("挂牌开始", "start of the listing"),
    "listing_end": ("挂牌截止", "end of the listing"),
    "auction_start": ("拍卖开始", "start of the auction"),
    "disclosure_end": ("信息披露期满", "end of the disclosure period"),
}

#: Act -> (中文, English) for messages.
ACTS: dict[str, tuple[str, str]] = {
    "publish": ("发布", "publish"),
    "close": ("投标截止", "close bidding"),
    "open": ("开标", "open the bids"),
    "start_evaluation": ("开始评审", "start the evaluation"),
    "publish_result": ("发布结果公示", "publish the result"),
    "award": ("定标", "award"),
    "sign_contract": ("签订合同", "record the contract"),
    "suspend": ("暂停", "suspend"),
    "resume": ("恢复", "resume"),
    "fail": ("流标", "declare the tender failed"),
    "terminate": ("终止", "terminate"),
    "start_negotiation": ("开始协商", "start the negotiation"),
    "start_listing": ("开始挂牌", "start the listing"),
    "start_auction": ("开始竞价", "start the auction"),
    "sell": ("成交", "conclude the sale"),
    "declare_no_sale": ("不成交", "declare no sale"),
    "start_trading": ("进入交易", "start trading"),
}

Unit = Literal["days", "working_days", "same_time"]
Count = Literal["after_start", "inclusive"]


class PeriodRule(msgspec.Struct, frozen=True, kw_only=True):
    """A statutory period between two timetable events.

    ``unit`` is ``"days"`` (calendar days), ``"working_days"`` (on the working-day calendar) or
    ``"same_time"`` (the two events must be the same instant; ``minimum``/``maximum`` unused).
    Every rule also refuses an ``end`` that is before its ``start``.
    """

    code: str
    start: str
    end: str
    minimum: int | None
    maximum: int | None = None
    unit: Unit
    count: Count = "after_start"
    source: str
    source_en: str
    rule: str
    zh: str
    en: str
    configurable: bool = False


class Transition(msgspec.Struct, frozen=True, kw_only=True):
    act: str
    from_states: tuple[str, ...]
    to_state: str
    roles: tuple[str, ...]


class Procedure(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    trade_kind: Literal["works", "procurement", "land", "property"]
    name_zh: str
    name_en: str
    #: (state key, 中文, English)
    states: tuple[tuple[str, str, str], ...]
    initial: str
    transitions: tuple[Transition, ...]
    periods: tuple[PeriodRule, ...]
    #: timetable keys that must be present when the opening notice is published
    required_events: tuple[str, ...]
    #: the minimum time between a change that affects bids and the deadline, if the law sets one
    clarification: PeriodRule | None
    #: the event treated as the section's deadline
    deadline_event: str
    #: states from which no act leads anywhere
    final_states: tuple[str, ...]

    def state_name(self, state: str) -> tuple[str, str]:
        for key, zh, en in self.states:
            if key == state:
                return zh, en
        return state, state


def message(rule: PeriodRule) -> tuple[str, str]:
    """The refusal sentence with its source, in Chinese and English."""
    return f"{rule.zh}（{rule.source}）", f"{rule.en} ({rule.source_en})"


# --- sources --------------------------------------------------------------------------------------

_LAW = "《招标投标法》"
_LAW_EN = "Tendering and Bidding Law"
_REG = "《招标投标法实施条例》"
_REG_EN = "Regulations on the Implementation of the Tendering and Bidding Law"
_GPL = "《政府采购法》"
_GPL_EN = "Government Procurement Law"
_GPREG = "《政府采购法实施条例》"
_GPREG_EN = "Regulations on the Implementation of the Government Procurement Law"
_MOF87 = "《政府采购货物和服务招标投标管理办法》（财政部令第87号）"
_MOF87_EN = "Measures on Tendering for Government Procurement of Goods and Services (MOF Order 87)"
_MOF74 = "《政府采购非招标采购方式管理办法》（财政部令第74号）"
_MOF74_EN = "Measures on Non-Tender Government Procurement Methods (MOF Order 74)"
_CK214 = "《政府采购竞争性磋商采购方式管理暂行办法》（财库〔2014〕214号）"
_CK214_EN = "Interim Measures on Competitive Consultation (Caiku [2014] No. 214)"
_MLR39 = "《招标拍卖挂牌出让国有建设用地使用权规定》（国土资源部令第39号）"
_MLR39_EN = (
    "Provisions on the Transfer of State-owned Construction Land Use Rights "
    "by Tender, Auction and Listing (MLR Order 39)"
)
_SASAC32 = "《企业国有资产交易监督管理办法》（国务院国资委、财政部令第32号）第十三条"
_SASAC32_EN = "Measures for the Supervision of State-owned Enterprise Asset Transactions (SASAC/MOF Order 32), Art. 13"


# --- works (工程建设项目) ---------------------------------------------------------------------------

LAW24_DOCUMENTS_TO_DEADLINE = PeriodRule(
    code="law24_documents_to_deadline",
    start="documents_issued",
    end="bid_deadline",
    minimum=20,
    unit="days",
    source=f"{_LAW}第二十四条",
    source_en=f"{_LAW_EN}, Art. 24",
    rule="法 §24",
    zh="自招标文件发出之日起至投标截止不得少于20日",
    en="At least 20 days must pass from the issue of the tender documents to the bid deadline",
)

REG16_DOCUMENTS_ON_SALE = PeriodRule(
    code="reg16_documents_on_sale",
    start="documents_sale_start",
    end="documents_sale_end",
    minimum=5,
    unit="days",
    count="inclusive",
    source=f"{_REG}第十六条",
    source_en=f"{_REG_EN}, Art. 16",
    rule="条例 §16",
    zh="招标文件的发售期不得少于5日",
    en="The tender documents must be on sale for at least 5 days",
)

LAW34_OPENING_AT_DEADLINE = PeriodRule(
    code="law34_opening_at_deadline",
    start="bid_deadline",
    end="opening",
    minimum=None,
    unit="same_time",
    source=f"{_LAW}第三十四条",
    source_en=f"{_LAW_EN}, Art. 34",
    rule="法 §34",
    zh="开标应当在招标文件确定的提交投标文件截止时间的同一时间公开进行",
    en="The bids must be opened in public at the same time as the bid deadline set in the tender documents",
)

LAW23_CLARIFICATION = PeriodRule(
    code="law23_clarification",
    start="clarification",
    end="bid_deadline",
    minimum=15,
    unit="days",
    source=f"{_LAW}第二十三条、{_REG}第二十一条",
    source_en=f"{_LAW_EN}, Art. 23; {_REG_EN}, Art. 21",
    rule="法 §23",
    zh="澄清或者修改可能影响投标文件编制的，应当在投标截止时间至少15日前发出；否则应当顺延投标截止时间",
    en=(
        "A clarification or change that may affect the preparation of bids must be issued at least "
        "15 days before the bid deadline; otherwise the bid deadline must be moved"
    ),
)

# A prequalification notice (资格预审公告) carries its own timetable: the prequalification documents on sale
# (documents_sale_start … documents_sale_end) and the application deadline. It does not open the trade, so these
# rules are checked on the notice itself (notices.advance), not on a procedure's opening notice.

REG16_PREQUALIFICATION_ON_SALE = PeriodRule(
    code="reg16_prequalification_on_sale",
    start="documents_sale_start",
    end="documents_sale_end",
    minimum=5,
    unit="days",
    count="inclusive",
    source=f"{_REG}第十六条",
    source_en=f"{_REG_EN}, Art. 16",
    rule="条例 §16",
    zh="资格预审文件的发售期不得少于5日",
    en="The prequalification documents must be on sale for at least 5 days",
)

REG17_APPLICATIONS_AFTER_SALE = PeriodRule(
    code="reg17_applications_after_sale",
    start="documents_sale_end",
    end="prequalification_deadline",
    minimum=5,
    unit="days",
    source=f"{_REG}第十七条",
    source_en=f"{_REG_EN}, Art. 17",
    rule="条例 §17",
    zh="提交资格预审申请文件的时间，自资格预审文件停止发售之日起不得少于5日",
    en=(
        "At least 5 days must pass from the day the prequalification documents stop being sold to the "
        "deadline for prequalification applications"
    ),
)

PREQUALIFICATION_PERIODS = (REG16_PREQUALIFICATION_ON_SALE, REG17_APPLICATIONS_AFTER_SALE)
PREQUALIFICATION_EVENTS = ("documents_sale_start", "documents_sale_end", "prequalification_deadline")

# --- government procurement (政府采购) --------------------------------------------------------------

GPL35_DOCUMENTS_TO_DEADLINE = PeriodRule(
    code="gpl35_documents_to_deadline",
    start="documents_issued",
    end="bid_deadline",
    minimum=20,
    unit="days",
    source=f"{_GPL}第三十五条",
    source_en=f"{_GPL_EN}, Art. 35",
    rule="采购法 §35",
    zh="自招标文件开始发出之日起至投标人提交投标文件截止之日止不得少于20日",
    en="At least 20 days must pass from the first issue of the tender documents to the bid deadline",
)

MOF87_16_NOTICE_PERIOD = PeriodRule(
    code="mof87_16_notice_period",
    start="notice_published",
    end="notice_period_end",
    minimum=5,
    unit="working_days",
    source=f"{_MOF87}第十六条",
    source_en=f"{_MOF87_EN}, Art. 16",
    rule="87号令 §16",
    zh="招标公告的公告期限不得少于5个工作日",
    en="The tender notice must stay published for at least 5 working days",
)

MOF87_18_DOCUMENTS_AVAILABLE = PeriodRule(
    code="mof87_18_documents_available",
    start="documents_sale_start",
    end="documents_sale_end",
    minimum=5,
    unit="working_days",
    count="inclusive",
    source=f"{_MOF87}第十八条",
    source_en=f"{_MOF87_EN}, Art. 18",
    rule="87号令 §18",
    zh="招标文件的提供期限自开始之日起不得少于5个工作日",
    en="The tender documents must be available for at least 5 working days from the first day",
)

MOF87_39_OPENING_AT_DEADLINE = PeriodRule(
    code="mof87_39_opening_at_deadline",
    start="bid_deadline",
    end="opening",
    minimum=None,
    unit="same_time",
    source=f"{_MOF87}第三十九条",
    source_en=f"{_MOF87_EN}, Art. 39",
    rule="87号令 §39",
    zh="开标应当在招标文件确定的提交投标文件截止时间的同一时间进行",
    en="The bids must be opened at the same time as the bid deadline set in the tender documents",
)

MOF87_27_CLARIFICATION = PeriodRule(
    code="mof87_27_clarification",
    start="clarification",
    end="bid_deadline",
    minimum=15,
    unit="days",
    source=f"{_MOF87}第二十七条",
    source_en=f"{_MOF87_EN}, Art. 27",
    rule="87号令 §27",
    zh="澄清或者修改的内容可能影响投标文件编制的，应当在投标截止时间至少15日前发出；不足15日的，应当顺延投标截止时间",
    en=(
        "A clarification or change that may affect the preparation of bids must be issued at least "
        "15 days before the bid deadline; otherwise the bid deadline must be moved"
    ),
)

MOF74_NEGOTIATION_DOCUMENTS_TO_DEADLINE = PeriodRule(
    code="mof74_negotiation_documents_to_deadline",
    start="documents_issued",
    end="bid_deadline",
    minimum=3,
    unit="working_days",
    source=_MOF74,
    source_en=_MOF74_EN,
    rule="74号令",
    zh="从谈判文件发出之日起至供应商提交首次响应文件截止之日止不得少于3个工作日",
    en=("At least 3 working days must pass from the issue of the negotiation documents to the response deadline"),
    configurable=True,
)

MOF74_RFQ_DOCUMENTS_TO_DEADLINE = PeriodRule(
    code="mof74_rfq_documents_to_deadline",
    start="documents_issued",
    end="bid_deadline",
    minimum=3,
    unit="working_days",
    source=_MOF74,
    source_en=_MOF74_EN,
    rule="74号令",
    zh="从询价通知书发出之日起至供应商提交响应文件截止之日止不得少于3个工作日",
    en=("At least 3 working days must pass from the issue of the request for quotations to the response deadline"),
    configurable=True,
)

CK214_CONSULTATION_DOCUMENTS_TO_DEADLINE = PeriodRule(
    code="ck214_consultation_documents_to_deadline",
    start="documents_issued",
    end="bid_deadline",
    minimum=10,
    unit="days",
    source=_CK214,
    source_en=_CK214_EN,
    rule="财库〔2014〕214号",
    zh="磋商文件从发出之日起至供应商提交首次响应文件截止之日止不得少于10日",
    en="At least 10 days must pass from the issue of the consultation documents to the response deadline",
    configurable=True,
)

GPREG38_SINGLE_SOURCE_PUBLICITY = PeriodRule(
    code="gpreg38_single_source_publicity",
    start="notice_published",
    end="notice_period_end",
    minimum=5,
    unit="working_days",
    source=f"{_GPREG}第三十八条",
    source_en=f"{_GPREG_EN}, Art. 38",
    rule="采购条例 §38",
    zh="单一来源采购的公示期不得少于5个工作日",
    en="A single-source procurement must be publicised for at least 5 working days",
)

# --- land (国有建设用地使用权出让) -----------------------------------------------------------------


def _land_notice_rule(end: str) -> PeriodRule:
    # 39号令 measures to the start of tendering, auction or listing; a tender timetable has no
    # separate "bids accepted from" event, so for land_tender the bid deadline stands in for it.
    return PeriodRule(
        code="mlr39_notice_20_days",
        start="notice_published",
        end=end,
        minimum=20,
        unit="days",
        source=_MLR39,
        source_en=_MLR39_EN,
        rule="39号令",
        zh="出让公告应当至少在投标、拍卖或者挂牌开始日前20日发布",
        en=("The transfer notice must be published at least 20 days before the tender, auction or listing starts"),
    )


MLR39_LISTING_PERIOD = PeriodRule(
    code="mlr39_listing_period",
    start="listing_start",
    end="listing_end",
    minimum=10,
    unit="working_days",
    count="inclusive",
    source=_MLR39,
    source_en=_MLR39_EN,
    rule="39号令",
    zh="挂牌时间不得少于10个工作日",
    en="The listing must last at least 10 working days",
    configurable=True,
)

LAND_TENDER_OPENING_AT_DEADLINE = PeriodRule(
    code="land_tender_opening_at_deadline",
    start="bid_deadline",
    end="opening",
    minimum=None,
    unit="same_time",
    source=f"{_LAW}第三十四条（参照）",
    source_en=f"{_LAW_EN}, Art. 34 (by analogy)",
    rule="法 §34",
    zh="开标应当在投标截止时间的同一时间公开进行",
    en="The bids must be opened in public at the same time as the bid deadline",
    configurable=True,
)

LAND_TENDER_CLARIFICATION = PeriodRule(
    code="land_tender_clarification",
    start="clarification",
    end="bid_deadline",
    minimum=15,
    unit="days",
    source=f"{_LAW}第二十三条（参照）",
    source_en=f"{_LAW_EN}, Art. 23 (by analogy)",
    rule="法 §23",
    zh="澄清或者修改可能影响投标文件编制的，应当在投标截止时间至少15日前发出；否则应当顺延投标截止时间",
    en=(
        "A clarification or change that may affect the preparation of bids must be issued at least "
        "15 days before the bid deadline; otherwise the bid deadline must be moved"
    ),
    configurable=True,
)

# --- state-owned property (企业国有产权转让) -------------------------------------------------------

SASAC32_DISCLOSURE_PERIOD = PeriodRule(
    code="sasac32_disclosure_period",
    start="notice_published",
    end="disclosure_end",
    minimum=20,
    unit="working_days",
    source=_SASAC32,
    source_en=_SASAC32_EN,
    rule="32号令 §13",
    zh="产权转让正式披露信息时间不得少于20个工作日",
    en="The formal disclosure of a property transfer must last at least 20 working days",
    configurable=True,
)


# --- states and transitions -------------------------------------------------------------------------

STAFF = ("staff", "admin")
STAFF_OR_SYSTEM = ("staff", "admin", "system")


def _sealed_bid(
    *, tendering: tuple[str, str], publicity: tuple[str, str]
) -> tuple[tuple[tuple[str, str, str], ...], tuple[Transition, ...], tuple[str, ...]]:
    states = (
        ("draft", "草稿", "Draft"),
        ("tendering", *tendering),
        ("closed", "投标已截止", "Bids closed"),
        ("opening", "开标中", "Opening"),
        ("evaluating", "评审中", "Evaluating"),
        ("publicity", *publicity),
        ("awarded", "已定标", "Awarded"),
        ("contracted", "已签订合同", "Contract signed"),
        ("suspended", "暂停（异议处理中）", "Suspended (objection pending)"),
        ("publicity_suspended", "公示暂停（异议处理中）", "Publicity suspended (objection pending)"),
        ("terminated", "已终止", "Terminated"),
        ("failed", "流标", "Failed (too few bidders)"),
    )
    final = ("contracted", "terminated", "failed")
    live = tuple(key for key, _zh, _en in states if key not in final)
    transitions = (
        Transition(act="publish", from_states=("draft",), to_state="tendering", roles=STAFF),
        Transition(act="close", from_states=("tendering",), to_state="closed", roles=STAFF_OR_SYSTEM),
        Transition(act="open", from_states=("closed",), to_state="opening", roles=("opener", *STAFF_OR_SYSTEM)),
        Transition(act="start_evaluation", from_states=("opening",), to_state="evaluating", roles=STAFF_OR_SYSTEM),
        Transition(act="publish_result", from_states=("evaluating",), to_state="publicity", roles=STAFF),
        Transition(act="award", from_states=("publicity",), to_state="awarded", roles=STAFF),
        Transition(act="sign_contract", from_states=("awarded",), to_state="contracted", roles=STAFF),
        # An objection pauses the trade until it is answered (条例 §22, §54).
        Transition(act="suspend", from_states=("tendering", "closed"), to_state="suspended", roles=STAFF),
        Transition(act="resume", from_states=("suspended",), to_state="tendering", roles=STAFF),
        Transition(act="suspend", from_states=("publicity",), to_state="publicity_suspended", roles=STAFF),
        Transition(act="resume", from_states=("publicity_suspended",), to_state="publicity", roles=STAFF),
        # Fewer than 3 bids, or fewer than 3 qualified (法 §28, 条例 §44, 87号令 §41/§44).
        Transition(
            act="fail",
            from_states=("closed", "opening", "evaluating"),
            to_state="failed",
            roles=STAFF_OR_SYSTEM,
        ),
        Transition(act="terminate", from_states=live, to_state="terminated", roles=STAFF),
    )
    return states, transitions, final


def _sealed_bid_procedure(
    *,
    key: str,
    trade_kind: Literal["works", "procurement", "land"],
    name_zh: str,
    name_en: str,
    tendering: tuple[str, str],
    publicity: tuple[str, str],
    periods: tuple[PeriodRule, ...],
    required_events: tuple[str, ...],
    clarification: PeriodRule | None,
) -> Procedure:
    states, transitions, final = _sealed_bid(tendering=tendering, publicity=publicity)
    return Procedure(
        key=key,
        trade_kind=trade_kind,
        name_zh=name_zh,
        name_en=name_en,
        states=states,
        initial="draft",
        transitions=transitions,
        periods=periods,
        required_events=required_events,
        clarification=clarification,
        deadline_event="bid_deadline",
        final_states=final,
    )


_WORKS_TENDERING = ("招标中", "Open for bids")
_GP_TENDERING = ("采购中", "Open for bids")
_GP_RESPONSES = ("征集响应中", "Open for responses")
_WORKS_PUBLICITY = ("中标候选人公示", "Candidate publicity")
_GP_PUBLICITY = ("结果公告", "Result notice")


def _single_source() -> Procedure:
    states = (
        ("draft", "草稿", "Draft"),
        ("publicity", "单一来源公示", "Single-source publicity"),
        ("suspended", "暂停（异议处理中）", "Suspended (objection pending)"),
        ("negotiating", "协商中", "Negotiating"),
        ("awarded", "已成交", "Awarded"),
        ("contracted", "已签订合同", "Contract signed"),
        ("terminated", "已终止", "Terminated"),
    )
    final = ("contracted", "terminated")
    live = tuple(key for key, _zh, _en in states if key not in final)
    return Procedure(
        key="gp_single_source",
        trade_kind="procurement",
        name_zh="单一来源采购",
        name_en="Single-source procurement",
        states=states,
        initial="draft",
        transitions=(
            Transition(act="publish", from_states=("draft",), to_state="publicity", roles=STAFF),
            Transition(act="suspend", from_states=("publicity",), to_state="suspended", roles=STAFF),
            Transition(act="resume", from_states=("suspended",), to_state="publicity", roles=STAFF),
            Transition(
                act="start_negotiation",
                from_states=("publicity",),
                to_state="negotiating",
                roles=STAFF_OR_SYSTEM,
            ),
            Transition(act="award", from_states=("negotiating",), to_state="awarded", roles=STAFF),
            Transition(act="sign_contract", from_states=("awarded",), to_state="contracted", roles=STAFF),
            Transition(act="terminate", from_states=live, to_state="terminated", roles=STAFF),
        ),
        periods=(GPREG38_SINGLE_SOURCE_PUBLICITY,),
        required_events=("notice_period_end",),
        clarification=None,
        deadline_event="notice_period_end",
        final_states=final,
    )


def _land_sale(*, key: str, name_zh: str, name_en: str, listing: bool) -> Procedure:
    states: tuple[tuple[str, str, str], ...] = (
        ("draft", "草稿", "Draft"),
        ("announced", "已公告", "Announced"),
    )
    if listing:
        states += (("listing", "挂牌中", "Listing"),)
    states += (
        ("auction", "竞价中" if listing else "拍卖中", "Timed auction" if listing else "Auction"),
        ("sold", "已成交", "Sold"),
        ("no_sale", "未成交", "No sale"),
        ("terminated", "已终止", "Terminated"),
    )
    final = ("sold", "no_sale", "terminated")
    live = tuple(k for k, _zh, _en in states if k not in final)
    if listing:
        moves = (
            Transition(act="start_listing", from_states=("announced",), to_state="listing", roles=STAFF_OR_SYSTEM),
            # Two or more still bidding at the close: a timed auction follows (39号令).
            Transition(act="start_auction", from_states=("listing",), to_state="auction", roles=STAFF_OR_SYSTEM),
            Transition(act="sell", from_states=("listing", "auction"), to_state="sold", roles=STAFF_OR_SYSTEM),
            Transition(
                act="declare_no_sale",
                from_states=("listing", "auction"),
                to_state="no_sale",
                roles=STAFF_OR_SYSTEM,
            ),
        )
        periods = (_land_notice_rule("listing_start"), MLR39_LISTING_PERIOD)
        required: tuple[str, ...] = ("listing_start", "listing_end")
        deadline = "listing_end"
    else:
        moves = (
            Transition(act="start_auction", from_states=("announced",), to_state="auction", roles=STAFF_OR_SYSTEM),
            Transition(act="sell", from_states=("auction",), to_state="sold", roles=STAFF_OR_SYSTEM),
            Transition(act="declare_no_sale", from_states=("auction",), to_state="no_sale", roles=STAFF_OR_SYSTEM),
        )
        periods = (_land_notice_rule("auction_start"),)
        required = ("auction_start",)
        deadline = "auction_start"
    return Procedure(
        key=key,
        trade_kind="land",
        name_zh=name_zh,
        name_en=name_en,
        states=states,
        initial="draft",
        transitions=(
            Transition(act="publish", from_states=("draft",), to_state="announced", roles=STAFF),
            *moves,
            Transition(act="terminate", from_states=live, to_state="terminated", roles=STAFF),
        ),
        periods=periods,
        required_events=required,
        clarification=None,
        deadline_event=deadline,
        final_states=final,
    )


def _property_transfer() -> Procedure:
    states = (
        ("draft", "草稿", "Draft"),
        ("disclosing", "信息披露中", "Disclosing"),
        ("trading", "交易中", "Trading"),
        ("sold", "已成交", "Sold"),
        ("no_sale", "未成交", "No sale"),
        ("terminated", "已终止", "Terminated"),
    )
    final = ("sold", "no_sale", "terminated")
    live = tuple(k for k, _zh, _en in states if k not in final)
    return Procedure(
        key="property_transfer",
        trade_kind="property",
        name_zh="企业国有产权转让",
        name_en="Transfer of state-owned enterprise property rights",
        states=states,
        initial="draft",
        transitions=(
            Transition(act="publish", from_states=("draft",), to_state="disclosing", roles=STAFF),
            Transition(act="start_trading", from_states=("disclosing",), to_state="trading", roles=STAFF_OR_SYSTEM),
            Transition(act="sell", from_states=("trading",), to_state="sold", roles=STAFF_OR_SYSTEM),
            # No qualified transferee when the disclosure ends, or no deal in trading.
            Transition(
                act="declare_no_sale",
                from_states=("disclosing", "trading"),
                to_state="no_sale",
                roles=STAFF_OR_SYSTEM,
            ),
            Transition(act="terminate", from_states=live, to_state="terminated", roles=STAFF),
        ),
        periods=(SASAC32_DISCLOSURE_PERIOD,),
        required_events=("disclosure_end",),
        clarification=None,
        deadline_event="disclosure_end",
        final_states=final,
    )


_SEALED_EVENTS = ("documents_issued", "documents_sale_start", "documents_sale_end", "bid_deadline", "opening")

PROCEDURES: dict[str, Procedure] = {
    p.key: p
    for p in (
        _sealed_bid_procedure(
            key="works_open_tender",
            trade_kind="works",
            name_zh="工程建设项目公开招标",
            name_en="Open tender for a construction project",
            tendering=_WORKS_TENDERING,
            publicity=_WORKS_PUBLICITY,
            periods=(LAW24_DOCUMENTS_TO_DEADLINE, REG16_DOCUMENTS_ON_SALE, LAW34_OPENING_AT_DEADLINE),
            required_events=_SEALED_EVENTS,
            clarification=LAW23_CLARIFICATION,
        ),
        _sealed_bid_procedure(
            key="gp_open_tender",
            trade_kind="procurement",
            name_zh="政府采购公开招标",
            name_en="Government procurement open tender",
            tendering=_GP_TENDERING,
            publicity=_GP_PUBLICITY,
            periods=(
                GPL35_DOCUMENTS_TO_DEADLINE,
                MOF87_16_NOTICE_PERIOD,
                MOF87_18_DOCUMENTS_AVAILABLE,
                MOF87_39_OPENING_AT_DEADLINE,
            ),
            required_events=(*_SEALED_EVENTS, "notice_period_end"),
            clarification=MOF87_27_CLARIFICATION,
        ),
        _sealed_bid_procedure(
            key="gp_competitive_negotiation",
            trade_kind="procurement",
            name_zh="竞争性谈判",
            name_en="Competitive negotiation",
            tendering=_GP_RESPONSES,
            publicity=_GP_PUBLICITY,
            periods=(MOF74_NEGOTIATION_DOCUMENTS_TO_DEADLINE,),
            required_events=("documents_issued", "bid_deadline"),
            clarification=None,
        ),
        _sealed_bid_procedure(
            key="gp_request_for_quotation",
            trade_kind="procurement",
            name_zh="询价",
            name_en="Request for quotations",
            tendering=_GP_RESPONSES,
            publicity=_GP_PUBLICITY,
            periods=(MOF74_RFQ_DOCUMENTS_TO_DEADLINE,),
            required_events=("documents_issued", "bid_deadline"),
            clarification=None,
        ),
        _sealed_bid_procedure(
            key="gp_competitive_consultation",
            trade_kind="procurement",
            name_zh="竞争性磋商",
            name_en="Competitive consultation",
            tendering=_GP_RESPONSES,
            publicity=_GP_PUBLICITY,
            periods=(CK214_CONSULTATION_DOCUMENTS_TO_DEADLINE,),
            required_events=("documents_issued", "bid_deadline"),
            clarification=None,
        ),
        _single_source(),
        _sealed_bid_procedure(
            key="land_tender",
            trade_kind="land",
            name_zh="国有建设用地使用权招标出让",
            name_en="Land-use rights transfer by tender",
            tendering=_WORKS_TENDERING,
            publicity=("结果公示", "Result publicity"),
            periods=(_land_notice_rule("bid_deadline"), LAND_TENDER_OPENING_AT_DEADLINE),
            required_events=("bid_deadline", "opening"),
            clarification=LAND_TENDER_CLARIFICATION,
        ),
        _land_sale(
            key="land_auction",
            name_zh="国有建设用地使用权拍卖出让",
            name_en="Land-use rights transfer by auction",
            listing=False,
        ),
        _land_sale(
            key="land_listing",
            name_zh="国有建设用地使用权挂牌出让",
            name_en="Land-use rights transfer by listing",
            listing=True,
        ),
        _property_transfer(),
    )
}


def get_procedure(key: str) -> Procedure:
    try:
        return PROCEDURES[key]
    except KeyError:
        raise RuleViolation(
            f"未知的交易方式：{key}",
            f"Unknown procedure: {key}",
            code="unknown_procedure",
            details={"procedure": key, "known": sorted(PROCEDURES)},
        ) from None


def apply_transition(procedure: Procedure, state: str, act: str, roles: Iterable[str]) -> str:
    """The state ``act`` leads to from ``state``; refuses an act the state or the actor's roles do not allow.

    A person none of whose roles may ever perform ``act`` in this procedure gets :class:`Forbidden`
    (403) before anything is said about the state; otherwise an act not allowed from ``state`` is an
    ``illegal_transition``.
    """
    held = frozenset(roles)
    candidates = [t for t in procedure.transitions if t.act == act]
    act_zh, act_en = ACTS.get(act, (act, act))
    state_zh, state_en = procedure.state_name(state)
    if candidates and not any(held.intersection(t.roles) for t in candidates):
        raise Forbidden(
            f"您的角色无权进行「{act_zh}」操作",
            f"Your role may not {act_en}",
            details={"act": act, "allowed_roles": sorted({r for t in candidates for r in t.roles})},
        )
    for t in candidates:
        if state in t.from_states:
            if not held.intersection(t.roles):
                raise Forbidden(
                    f"您的角色无权在「{state_zh}」状态下进行「{act_zh}」操作",
                    f"Your role may not {act_en} in the state “{state_en}”",
                    details={"act": act, "state": state, "allowed_roles": sorted(t.roles)},
                )
            return t.to_state
    raise RuleViolation(
        f"当前状态为「{state_zh}」，不能进行「{act_zh}」操作",
        f"Cannot {act_en} in the state “{state_en}”",
        code="illegal_transition",
        details={
            "procedure": procedure.key,
            "state": state,
            "act": act,
            "allowed_acts": sorted({t.act for t in procedure.transitions if state in t.from_states}),
        },
    )


def allowed_acts(procedure: Procedure, state: str, roles: Iterable[str]) -> tuple[str, ...]:
    """The acts a person with ``roles`` may perform from ``state`` (for showing buttons)."""
    held = frozenset(roles)
    return tuple(
        dict.fromkeys(t.act for t in procedure.transitions if state in t.from_states and held.intersection(t.roles))
    )


#: Acts that are never taken on the way to a later stage (they divert or pause a trade).
_SIDE_ACTS = frozenset({"terminate", "fail", "suspend", "resume", "declare_no_sale"})


def path_to(procedure: Procedure, state: str, targets: Iterable[str], roles: Iterable[str]) -> tuple[str, ...] | None:
    """The shortest sequence of forward acts (by *roles*) from *state* to any of *targets*; None if there is none.

    Used when a step is recorded after the fact — a result published for a trade whose opening happened
    elsewhere — so that the sections still pass through every state in order.
    """
    wanted = set(targets)
    if state in wanted:
        return ()
    allowed = set(roles)
    queue: list[tuple[str, tuple[str, ...]]] = [(state, ())]
    seen = {state}
    while queue:
        current, acts = queue.pop(0)
        for t in procedure.transitions:
            if t.act in _SIDE_ACTS or current not in t.from_states or not allowed.intersection(t.roles):
                continue
            if t.to_state in seen:
                continue
            if t.to_state in wanted:
                return (*acts, t.act)
            seen.add(t.to_state)
            queue.append((t.to_state, (*acts, t.act)))
    return None
