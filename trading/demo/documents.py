"""The demo's tender documents (招标文件) and prequalification documents (资格预审文件), written from the project's
and the notice's own facts and attached to the draft notice through the platform's attachment service.

A real notice carries its documents; the demo's are small plain-text files laid out as 《标准施工招标文件》(2007)
lays out a works tender — instructions to bidders with their data sheet, the evaluation method, the contract's
key terms, a bill-of-quantities summary — so that the notice page lists a file with its SHA-256 that downloads
and reads true: every figure in it (the sections and their control prices, the funding, the dates, the
evaluation plan the platform applies, trading.demo.evaluated.PLAN) is the one the platform holds.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from evaluation import schemas as ev
from notices import services as notice_services
from notices.formatting import wanyuan, yuan
from notices.models import Notice
from trading.accounts.models import Organisation
from trading.blobs import BlobStore
from trading.context import Act
from trading.demo.evaluated import PLAN
from trading.projects.models import FundingSource, Project, Section
from trading.projects.schemas import FUNDING_KIND_NAMES
from trading.regions import full_name

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: The demo's documents are a few kilobytes; this only bounds the stream.
MAX_BYTES = 1024 * 1024
MEDIA_TYPE = "text/plain; charset=utf-8"
#: Bid bonds: at most 2 % of the estimated price or budget (条例 §26, 采购条例 §33), in whole 万元, and no more
#: than the 80 万元 works tenders have long been held to (七部委30号令 §37).
BOND_CEILING_FEN = 80 * 10_000 * 100
#: Procedures whose opening notice the demo gives tender documents (the sealed open tenders it takes bids on).
DOCUMENTED = {"works_open_tender": "tender", "gp_open_tender": "procurement"}
_DURATION = re.compile(r"计划工期[：:]?\s*(\d+)\s*日历天")
_TIE_RULES = {
    "lower_price": "投标报价低的优先",
    "higher_technical": "技术得分高的优先",
    "earlier_submission": "递交早的优先",
}


@dataclass(frozen=True)
class Lot:
    """One bid section (标段) with its estimated or control price."""

    code: str
    name: str
    price_fen: int | None


@dataclass(frozen=True)
class DocumentFacts:
    """What the documents say, all read from the platform's own records of the project and the draft notice."""

    kind: str  # tender | procurement | prequalification
    trade_code: str
    project: str
    place: str
    tenderer: str
    tenderer_address: str
    agent: str
    notice_title: str
    fields: dict[str, Any]
    timetable: dict[str, datetime]
    lots: Sequence[Lot]
    funding: Sequence[tuple[str, str, int]]  # (kind name, description, fen)
    budget_fen: int | None
    control_price_fen: int | None
    duration_days: int | None


# --- pure text ------------------------------------------------------------------------------------------------


def cn_time(at: datetime | None) -> str:
    if at is None:
        return "见公告"
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日{local:%H:%M}"


def cn_date(at: datetime | None) -> str:
    if at is None:
        return ""
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def bid_bond_fen(price_fen: int | None) -> int | None:
    """2 % of the price rounded down to whole 万元 (条例 §26 caps it at 2 %), no more than 80 万元."""
    if not price_fen:
        return None
    return min(price_fen * 2 // 100 // 1_000_000 * 1_000_000, BOND_CEILING_FEN) or None


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["｜".join(header), *("｜".join(r) for r in rows)]


def _money(fen: int | None) -> str:
    return f"{yuan(fen)}（{wanyuan(fen)}）" if fen else "见公告"


def _funding_line(facts: DocumentFacts) -> str:
    total = sum(f[2] for f in facts.funding)
    if not total:
        return str(facts.fields.get("funding_source") or "已落实")
    parts = [
        f"{desc or kind}{wanyuan(fen)}（{Decimal(fen * 100) / Decimal(total):.0f}%）"
        for kind, desc, fen in facts.funding
    ]
    return "；".join(parts) + "，资金已落实"


def _lot_price(facts: DocumentFacts, lot: Lot) -> int | None:
    return lot.price_fen or (facts.control_price_fen if len(facts.lots) == 1 else None)


def _cover(facts: DocumentFacts, what: str) -> list[str]:
    issued = facts.timetable.get("documents_sale_start") or facts.timetable.get("documents_issued")
    return [
        facts.project,
        what,
        "",
        f"招标编号（统一交易标识码）：{facts.trade_code}",
        f"招标人：{facts.tenderer}",
        f"招标代理机构：{facts.agent or '无（招标人自行组织招标）'}",
        f"发布日期：{cn_date(issued)}",
        "",
        "说明：本文件为湖南省公共资源交易平台演示数据，由平台根据本项目登记的信息和所附公告自动编制，"
        "章节依《标准施工招标文件》（2007年版）编排，仅用于演示，不构成真实招标文件。"
        "文件的SHA-256摘要随公告一并发布，下载后可核对。",
        "",
    ]


def evaluation_method(plan: ev.PlanIn, *, procurement: bool = False) -> list[str]:
    """The evaluation method as the tender documents state it — the very plan the platform scores by."""
    if plan.method != "comprehensive" or plan.price_formula is None:
        return ["评标办法：经评审的最低投标价法。通过初步评审的投标，按经评审的投标价由低到高排序推荐中标候选人。"]
    f = plan.price_formula
    name = "综合评分法（《政府采购货物和服务招标投标管理办法》第五十五条）" if procurement else "综合评估法"
    lines = [f"评标办法：{name}。", "", "1. 评分因素与分值"]
    rows = [("投标报价", str(f.full))] + [(c.name, str(c.max_points)) for c in plan.criteria]
    total = f.full + sum((c.max_points for c in plan.criteria), Decimal(0))
    lines += _table(("评分因素", "分值"), [*rows, ("合计", str(total))])
    if f.kind == "average":
        lines += [
            "",
            "2. 投标报价得分（基准价法）",
            f"评标基准价＝通过初步评审的投标报价的算术平均值×（1－{f.discount * 100:.0f}%）。",
            f"投标报价等于评标基准价的得满分{f.full}分；每高于评标基准价1%扣{f.above}分，"
            f"每低于评标基准价1%扣{f.below}分，扣完为止。",
        ]
    else:
        lines += [
            "",
            "2. 投标报价得分（低价优先法）",
            f"投标报价得分＝（评标基准价÷投标报价）×{f.full}，评标基准价为通过初步评审的最低投标报价。",
        ]
    lines += [
        "",
        "3. 评审规则",
        "各评分因素取评标委员会成员评分的算术平均值"
        + ("；评标委员会成员为5人及以上时，去掉一个最高分和一个最低分后平均。" if plan.drop_extremes else "。"),
        f"投标报价低于其他有效投标报价算术平均值{plan.abnormal_ratio * 100:.0f}%的，评标委员会应当要求投标人"
        "作出书面说明并提供证明材料；不能合理说明、其报价低于成本的，否决其投标（《招标投标法》第三十三条、"
        "《招标投标法实施条例》第五十一条）。",
        f"按综合得分由高到低推荐不超过{plan.candidates}名中标候选人；得分相同的，"
        + "；".join(_TIE_RULES[r] for r in plan.tie_rules if r in _TIE_RULES)
        + "。",
    ]
    return lines


_WORKS_PARTS = (
    (("桥",), ("下部结构（桩基、承台、墩台）", "上部结构工程", "桥面系及附属工程", "接线道路工程")),
    (("排水", "管网", "污水", "雨污"), ("管道工程", "检查井及附属构筑物", "沟槽开挖与回填", "道路恢复工程")),
    (("河", "堤", "水库", "灌区", "水利"), ("土方工程", "护坡及堤身工程", "建筑物工程", "金属结构及机电安装")),
    (
        ("学校", "医院", "楼", "馆", "中心", "住房", "厂房"),
        ("土建工程", "装饰装修工程", "给排水及电气安装工程", "室外配套工程"),
    ),
    (("路", "道", "公路", "街"), ("路基工程", "路面工程", "排水工程", "交通安全设施及照明工程")),
)
#: (share of the price before tax) of the four sub-parts of 分部分项工程费 — a plausible split, not a priced bill.
_SHARES = (Decimal("0.34"), Decimal("0.38"), Decimal("0.16"), Decimal("0.12"))


def _works_parts(project: str) -> tuple[str, ...]:
    for words, parts in _WORKS_PARTS:
        if any(w in project for w in words):
            return parts
    return ("土建工程", "安装工程", "附属工程", "其他工程")


def bill_summary(facts: DocumentFacts) -> list[str]:
    """Each section's control price split as a bill of quantities is summarised (清单计价: 分部分项, 措施, 其他,
    规费, 税金 at 9 %); the parts always add up to the price."""
    lines = [
        "本章为工程量清单汇总（最高投标限价构成），完整清单及计价软件格式文件随电子招标文件另行提供。",
        "计价依据：《建设工程工程量清单计价规范》（GB 50500-2013）及湖南省现行计价办法；增值税税率9%。",
    ]
    parts = _works_parts(facts.project)
    for lot in facts.lots:
        price = _lot_price(facts, lot)
        if not price:
            continue
        tax = price * 9 // 109
        before_tax = price - tax
        measures = before_tax * 8 // 100
        other = before_tax * 3 // 100
        fees = before_tax * 2 // 100
        works = before_tax - measures - other - fees
        split = [int(works * share) for share in _SHARES]
        split[0] += works - sum(split)
        rows = [("1", "分部分项工程费", yuan(works))]
        rows += [(f"1.{i + 1}", name, yuan(int(x))) for i, (name, x) in enumerate(zip(parts, split, strict=True))]
        rows += [
            ("2", "措施项目费（含安全文明施工费）", yuan(measures)),
            ("3", "其他项目费（暂列金额等）", yuan(other)),
            ("4", "规费", yuan(fees)),
            ("5", "税金（增值税9%）", yuan(tax)),
            ("", "合计（最高投标限价）", yuan(price)),
        ]
        lines += ["", f"{lot.name}（标段编号 {lot.code}）"]
        lines += _table(("序号", "项目名称", "金额"), rows)
    return lines


def tender_document(facts: DocumentFacts, plan: ev.PlanIn = PLAN) -> str:
    """The tender documents of a works or procurement open tender, as plain text."""
    works = facts.kind == "tender"
    f, t = facts.fields, facts.timetable
    bidder = "投标人"
    lots = facts.lots or [Lot("01", facts.project, facts.control_price_fen or facts.budget_fen)]
    bonds = [(lot, bid_bond_fen(_lot_price(facts, lot) or facts.control_price_fen or facts.budget_fen)) for lot in lots]
    lines = _cover(facts, "施工招标文件" if works else "招标文件（政府采购）")
    lines += [
        "目录",
        "第一章 招标公告",
        f"第二章 {bidder}须知",
        "第三章 评标办法",
        "第四章 合同条款及格式",
        "第五章 工程量清单" if works else "第五章 采购需求",
        "第六章 投标文件格式",
        "",
        "第一章 招标公告",
        f"见湖南省公共资源交易平台发布的《{facts.notice_title}》（以平台发布的最新版本为准）。",
        "",
        f"第二章 {bidder}须知",
        f"{bidder}须知前附表",
    ]
    rows = [
        (
            "1.1.2",
            "招标人",
            f"{facts.tenderer}；地址：{facts.tenderer_address or '见公告'}；"
            f"联系方式：{f.get('tenderer_contact', '见公告')}",
        ),
        (
            "1.1.3",
            "招标代理机构",
            f"{facts.agent}；联系方式：{f.get('agent_contact') or '见公告'}" if facts.agent else "无",
        ),
        ("1.1.4", "项目名称", facts.project),
        ("1.1.5", "建设地点" if works else "项目所在地", facts.place),
        ("1.2.1", "资金来源及比例", _funding_line(facts)),
        (
            "1.3.1",
            "招标范围" if works else "采购需求",
            str(f.get("project_overview") or f.get("requirements") or "见公告"),
        ),
    ]
    if works:
        rows += [
            ("1.3.2", "计划工期", f"{facts.duration_days}日历天" if facts.duration_days else "见招标公告"),
            ("1.3.3", "质量要求", "合格（符合国家及湖南省现行工程施工质量验收标准）"),
        ]
    rows.append(
        (
            "1.3.4",
            "标段划分及最高投标限价",
            "；".join(f"{lot.name}（{lot.code}）：{_money(_lot_price(facts, lot))}" for lot in facts.lots),
        )
    )
    rows += [
        ("1.4.1", f"{bidder}资格要求", str(f.get("qualification", "见公告"))),
        ("1.4.2", "是否接受联合体投标", "接受" if f.get("consortium_allowed") else "不接受"),
    ]
    rows += [
        (
            "2.1",
            "招标文件获取",
            f"{cn_time(t.get('documents_sale_start'))}至{cn_time(t.get('documents_sale_end'))}；"
            f"{f.get('documents_how', '登录平台下载')}",
        ),
        (
            "2.2",
            "澄清与修改",
            "可能影响投标文件编制的，在投标截止时间至少15日前以变更/澄清公告在平台发布（《招标投标法》第二十三条）",
        ),
        ("3.3.1", "投标有效期", "90日（自投标截止之日起算）"),
        (
            "3.4.1",
            "投标保证金",
            "；".join(
                (f"{lot.name}：" if len(bonds) > 1 else "") + (yuan(bond) if bond else "不收取") for lot, bond in bonds
            )
            + f"。不超过{'估算价' if works else '采购项目预算金额'}的2%"
            f"（{'《招标投标法实施条例》第二十六条' if works else '《政府采购法实施条例》第三十三条'}），"
            f"须从{bidder}基本账户转出",
        ),
        ("4.2.2", "投标截止时间", cn_time(t.get("bid_deadline"))),
        ("4.2.3", "投标文件递交", str(f.get("submission_how", "通过平台递交加密电子投标文件"))),
        (
            "5.1",
            "开标时间和地点",
            f"{cn_time(t.get('opening'))}，湖南省公共资源交易平台网上开标大厅（与投标截止同一时间，《招标投标法》第三十四条）",
        ),
        (
            "6.1",
            "评标委员会",
            "5人以上单数，技术、经济专家不少于成员总数的三分之二，从评标专家库随机抽取（《招标投标法》第三十七条）",
        ),
        (
            "7.1",
            "中标候选人公示",
            "评标报告收到之日起3日内在平台公示，公示期不少于3日（《招标投标法实施条例》第五十四条）",
        ),
    ]
    if works:
        rows.append(("7.3", "履约担保", "中标合同金额的10%（不超过10%，《招标投标法实施条例》第五十八条）"))
    if f.get("document_price_fen") is not None:
        rows.append(("2.1.2", "招标文件售价", yuan(f["document_price_fen"]) if f["document_price_fen"] else "免费"))
    lines += _table(("条款号", "条款名称", "编列内容"), rows)
    lines += [
        "",
        f"{bidder}应使用平台提供的 bidding 客户端在本地加密投标文件，在投标截止时间前上传；截止后平台不再接收。"
        "开标时由开标小组共同解密，解密结果当场公布并形成开标记录。",
        "",
        "第三章 评标办法",
        *evaluation_method(plan, procurement=not works),
        "",
        "第四章 合同条款及格式",
    ]
    if works:
        lines += [
            "通用合同条款采用《标准施工招标文件》（2007年版）第四章第一节，专用合同条款主要约定如下：",
            "1. 合同价格形式：单价合同，工程量按实计量。",
            f"2. 工期：{facts.duration_days or '按中标人投标承诺'}日历天，开工日期以监理人发出的开工通知为准。",
            "3. 预付款：合同价格的10%，在开工后28日内支付，从进度款中分期扣回。",
            "4. 进度款：按月计量，支付经审核完成工程量价款的80%；竣工验收合格后付至结算价的97%。",
            "5. 质量保证金：工程价款结算总额的3%，缺陷责任期24个月，期满后返还。",
            "6. 农民工工资：承包人开设农民工工资专用账户，按月足额支付（《保障农民工工资支付条例》）。",
            "7. 合同签订：中标通知书发出之日起30日内按招标文件和中标人的投标文件订立书面合同"
            "（《招标投标法》第四十六条）。",
        ]
    else:
        lines += [
            "1. 合同价格：固定总价，包含货物（服务）及其运输、安装、调试、培训和质保期内的全部费用。",
            "2. 交付（服务）期限：见采购需求。",
            "3. 付款：验收合格后支付合同金额的95%，质保期满无质量问题支付余款。",
            "4. 合同签订：中标通知书发出之日起30日内签订，并在签订之日起2个工作日内公告"
            "（《政府采购法实施条例》第五十条）。",
        ]
    lines += ["", "第五章 工程量清单" if works else "第五章 采购需求"]
    if works:
        lines += bill_summary(facts)
    else:
        lines += [str(f.get("requirements") or "见公告")]
        if f.get("budget_fen"):
            lines.append(f"预算金额：{_money(f['budget_fen'])}；最高限价：{_money(f.get('ceiling_price_fen'))}。")
    lines += [
        "",
        "第六章 投标文件格式",
        "一、投标函及投标函附录（投标总价、工期、质量目标）" if works else "一、投标函及开标一览表（投标总价）",
        "二、法定代表人身份证明或授权委托书",
        "三、投标保证金",
        "四、已标价工程量清单" if works else "四、分项报价表",
        "五、施工组织设计" if works else "五、技术和服务方案",
        "六、项目管理机构" if works else "六、项目实施人员",
        "七、资格审查资料",
        "",
        "（正文完）",
    ]
    return "\n".join(lines) + "\n"


def prequalification_document(facts: DocumentFacts) -> str:
    """The prequalification documents (资格预审文件) of a works tender, as plain text."""
    f, t = facts.fields, facts.timetable
    method = {"qualified": "合格制", "limited": "有限数量制"}.get(str(f.get("review_method")), "合格制")
    lines = _cover(facts, "施工招标资格预审文件")
    lines += [
        "目录",
        "第一章 资格预审公告",
        "第二章 申请人须知",
        "第三章 资格审查办法",
        "第四章 资格预审申请文件格式",
        "第五章 项目建设概况",
        "",
        "第一章 资格预审公告",
        f"见湖南省公共资源交易平台发布的《{facts.notice_title}》。",
        "",
        "第二章 申请人须知",
        "申请人须知前附表",
    ]
    rows = [
        ("1.1.2", "招标人", f"{facts.tenderer}；联系方式：{f.get('tenderer_contact', '见公告')}"),
        ("1.1.4", "项目名称", facts.project),
        ("1.1.5", "建设地点", facts.place),
        ("1.2.1", "资金来源及比例", _funding_line(facts)),
        ("1.3.1", "招标范围", str(f.get("project_overview", "见公告"))),
        ("1.4.1", "申请人资格要求", str(f.get("qualification", "见公告"))),
        ("1.4.2", "是否接受联合体资格预审申请", "接受" if f.get("consortium_allowed") else "不接受"),
        (
            "2.1",
            "资格预审文件获取",
            f"{cn_time(t.get('documents_sale_start'))}至{cn_time(t.get('documents_sale_end'))}"
            "（发售期不少于5日，《招标投标法实施条例》第十六条）",
        ),
        (
            "3.2",
            "申请截止时间",
            f"{cn_time(t.get('prequalification_deadline'))}（自资格预审文件停止发售之日起不少于5日，条例第十七条）",
        ),
        ("3.3", "申请文件递交", str(f.get("submission_how", "通过平台递交"))),
        ("3.4", "资格审查方法", method + (f"，通过数量{f['shortlist_size']}名" if method == "有限数量制" else "")),
        ("3.5", "资格预审结果", "审查结束后在平台公布资格预审结果，并向申请人发出资格预审结果通知书（条例第十九条）"),
    ]
    lines += _table(("条款号", "条款名称", "编列内容"), rows)
    lines += [
        "",
        "第三章 资格审查办法",
        f"审查方法：{method}。国有资金占控股或者主导地位的项目，由依法组建的资格审查委员会审查（条例第十八条）。",
        "1. 初步审查：申请人名称与营业执照一致；申请函签字盖章；申请文件格式符合要求；"
        "联合体申请人提交联合体协议书（如接受）。",
        "2. 详细审查：营业执照、资质证书、安全生产许可证有效；财务状况（近三年经审计的财务报表）；类似项目业绩；"
        "信誉（未被列入失信被执行人名单，近三年无行贿犯罪记录）；拟派项目经理资格。",
        "3. 通过初步审查和详细审查的申请人均通过资格预审。"
        if method == "合格制"
        else "3. 通过详细审查的申请人超过规定数量的，按评分由高到低确定通过资格预审的申请人。",
        "通过资格预审的申请人少于3个的，招标人应当重新招标（条例第十九条）。",
        "",
        "第四章 资格预审申请文件格式",
        "一、资格预审申请函；二、法定代表人身份证明或授权委托书；三、联合体协议书（如有）；四、申请人基本情况表；"
        "五、近年财务状况表；六、近年完成的类似项目情况表；七、正在施工和新承接的项目情况表；八、近年发生的诉讼及仲裁情况。",
        "",
        "第五章 项目建设概况",
        str(f.get("project_overview", "")),
        "",
        "（正文完）",
    ]
    return "\n".join(lines) + "\n"


# --- reading the facts and attaching -----------------------------------------------------------------------------


async def document_facts(session: AsyncSession, notice: Notice) -> DocumentFacts:
    """The facts of a draft notice's project, as the platform holds them."""
    project = await session.get(Project, notice.project_id)
    assert project is not None
    tenderer = await session.get(Organisation, project.tenderer_id)
    agent = await session.get(Organisation, project.agent_id) if project.agent_id else None
    sections = list(await session.scalars(select(Section).where(Section.project_id == project.id).order_by(Section.id)))
    if notice.section_ids:
        sections = [s for s in sections if s.id in notice.section_ids]
    funding = list(
        await session.scalars(
            select(FundingSource).where(FundingSource.project_id == project.id).order_by(FundingSource.id)
        )
    )
    duration = _DURATION.search(notice.body or "")
    return DocumentFacts(
        kind=notice.kind,
        trade_code=project.trade_code,
        project=project.name,
        place=full_name(project.region_code),
        tenderer=tenderer.name if tenderer else "",
        tenderer_address=(tenderer.address or "") if tenderer else "",
        agent=agent.name if agent else "",
        notice_title=notice.title,
        fields=dict(notice.fields),
        timetable={k: datetime.fromisoformat(v) for k, v in notice.timetable.items()},
        lots=[Lot(s.code, s.name, s.estimated_price_fen) for s in sections],
        funding=[(FUNDING_KIND_NAMES.get(f.kind, (f.kind,))[0], f.description, f.amount_fen) for f in funding],
        budget_fen=project.budget_fen,
        control_price_fen=project.control_price_fen,
        duration_days=int(duration.group(1)) if duration else None,
    )


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def attach_documents(session: AsyncSession, act: Act, notice_id: int, blobs: BlobStore) -> None:
    """Write a draft notice's documents and attach them (a tender's 招标文件, a prequalification's 资格预审文件)."""
    notice = await session.get(Notice, notice_id)
    assert notice is not None
    facts = await document_facts(session, notice)
    if notice.kind == "prequalification":
        text, name = prequalification_document(facts), f"资格预审文件（{facts.trade_code}）.txt"
    else:
        text, name = tender_document(facts), f"招标文件（{facts.trade_code}）.txt"
    await notice_services.add_attachment(
        session,
        act,
        notice_id,
        filename=name,
        media_type=MEDIA_TYPE,
        body=_once(text.encode("utf-8")),
        blobs=blobs,
        max_bytes=MAX_BYTES,
    )
