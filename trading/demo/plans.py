"""The demo's notices before a tender, published through the platform's services at the moments they name:
招标计划 for an upcoming road and an upcoming school, a bridge prequalified (资格预审公告, its result, then the
invitation to bid that opens its tender with its 招标文件), and a hospital building taking prequalification
applications now. The 常德 centre's staff publish them; every text is written from the same facts as the fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from notices import services as notice_services
from notices.formatting import wanyuan
from notices.schemas import NoticeDraftCreate
from trading.accounts.models import Organisation, Person
from trading.context import Act
from trading.demo.ceremony import Bidding, name_committee
from trading.demo.documents import attach_documents, cn_time
from trading.projects.schemas import FundingSourceIn, ProjectCreate, SectionIn
from trading.projects.services import create_project
from trading.regions import full_name

#: The notice kinds this module publishes (the demo world of trading.demo.data has none of them).
ADVANCE_KINDS = ("tender_plan", "prequalification", "prequalification_result")
SHANGHAI = ZoneInfo("Asia/Shanghai")
WAN = 10_000 * 100  # fen in one 万元


@dataclass(frozen=True)
class Planned:
    """A works project the demo announces before its tender."""

    tenderers: tuple[str, ...]  # preferred tenderer names, the first the demo world has wins
    fallback: str  # else any tenderer of the 常德 centre whose name has this
    name: str  # after the region's name, or with the tenderer's in "{tenderer}"
    overview: str
    qualification: str
    budget_wan: int
    estimate_wan: int
    funding: tuple[tuple[str, str, int], ...]  # (kind, description, 万元)
    days: int


ROAD = Planned(
    tenderers=("汉寿县交通运输局",),
    fallback="交通运输局",
    name="工业大道北延线道路工程",
    overview="新建城市主干路约3.2公里，红线宽40米，双向六车道，含道路、排水、照明、交通设施及绿化工程。",
    qualification="市政公用工程施工总承包二级及以上资质，拟派项目经理具备市政公用工程专业一级注册建造师执业资格",
    budget_wan=7_200,
    estimate_wan=6_850,
    funding=(("fiscal", "县级财政资金", 2_700), ("special_bond", "2027年地方政府专项债券", 4_500)),
    days=360,
)
SCHOOL = Planned(
    tenderers=("澧县教育局", "石门县教育局"),
    fallback="教育局",
    name="城北九年一贯制学校新建工程",
    overview="新建教学楼、综合楼、食堂及风雨操场，总建筑面积约3.1万平方米，办学规模54个班。",
    qualification="建筑工程施工总承包二级及以上资质，拟派项目经理具备建筑工程专业二级及以上注册建造师执业资格",
    budget_wan=9_800,
    estimate_wan=9_200,
    funding=(("fiscal", "县级财政资金", 3_800), ("special_bond", "2027年地方政府专项债券", 6_000)),
    days=540,
)
BRIDGE = Planned(
    tenderers=("常德市交通运输局",),
    fallback="交通运输局",
    name="沅水特大桥及接线工程",
    overview="新建特大桥一座，主桥为（90+160+90）米预应力混凝土连续刚构，全长约1.46公里，两岸接线约2.1公里，"
    "含桥梁、道路、排水、照明及交通安全设施工程。",
    qualification="公路工程施工总承包一级及以上资质或桥梁工程专业承包一级资质，近五年完成过1座主跨不小于120米的"
    "预应力混凝土连续刚构桥施工；拟派项目经理具备公路工程专业一级注册建造师执业资格",
    budget_wan=42_000,
    estimate_wan=39_860,
    funding=(
        ("fiscal", "中央车购税补助资金及省级财政资金", 18_000),
        ("special_bond", "2026年地方政府专项债券", 24_000),
    ),
    days=900,
)
HOSPITAL = Planned(
    tenderers=("常德市武陵区人民医院",),
    fallback="医院",
    name="{tenderer}住院综合楼建设工程",
    overview="新建住院综合楼一栋，地上18层、地下2层，总建筑面积约5.8万平方米，设床位800张，含土建、安装、"
    "医用气体、净化及室外配套工程。",
    qualification="建筑工程施工总承包一级及以上资质，近五年完成过1项建筑面积不少于3万平方米的医疗建筑施工；"
    "拟派项目经理具备建筑工程专业一级注册建造师执业资格",
    budget_wan=18_600,
    estimate_wan=17_950,
    funding=(("fiscal", "区级财政资金", 6_600), ("special_bond", "2026年地方政府专项债券", 12_000)),
    days=720,
)
#: Those who passed the bridge's prequalification (of seven applicants): a result names them, and the invitation
#: to bid goes to them.
BRIDGE_PASSED = (
    ("中交第二公路工程局有限公司", "91610000220526549F"),
    ("湖南路桥建设集团有限责任公司", "914300001837600371"),
    ("中铁大桥局集团有限公司", "91420100177685262K"),
    ("湖南省交通建设工程集团有限公司", "91430000183762934X"),
    ("中国建筑第五工程局有限公司", "91430000183764483Y"),
)
BRIDGE_APPLICANTS = 7


def _day(now: datetime, days: int, hour: int = 9, minute: int = 0) -> datetime:
    """A moment *days* from *now* at the given local time, moved off a weekend (offices publish on working days)."""
    local = (now.astimezone(SHANGHAI) + timedelta(days=days)).date()
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return datetime.combine(local, time(hour, minute), SHANGHAI)


def _month(at: datetime) -> str:
    local = at.astimezone(SHANGHAI)
    part = "上旬" if local.day <= 10 else "中旬" if local.day <= 20 else "下旬"
    return f"{local.year}年{local.month}月{part}"


class _Publisher:
    def __init__(self, bidding: Bidding, staff: Person) -> None:
        self.bidding, self.staff, self.published = bidding, staff, 0

    async def tenderer(self, p: Planned) -> Organisation:
        async with self.bidding.sessionmaker() as session:
            for name in p.tenderers:
                org = await session.scalar(select(Organisation).where(Organisation.name == name))
                if org is not None:
                    return org
            org = await session.scalar(
                select(Organisation)
                .where(Organisation.region_code.like("4307%"), Organisation.name.like(f"%{p.fallback}%"))
                .order_by(Organisation.id)
                .limit(1)
            )
            assert org is not None, f"the demo world has no tenderer like {p.fallback} in 常德"
            return org

    async def project(self, p: Planned, at: datetime) -> tuple[int, str, Organisation]:
        org = await self.tenderer(p)
        name = (
            p.name.format(tenderer=org.name)
            if "{tenderer}" in p.name
            else full_name(org.region_code).removeprefix("湖南省") + p.name
        )
        async with self.bidding.sessionmaker() as session:
            project = await create_project(
                session,
                self.act(at),
                ProjectCreate(
                    name=name,
                    trade_kind="works",
                    procedure="works_open_tender",
                    region_code=org.region_code,
                    tenderer_id=org.id,
                    description=p.overview,
                    budget_fen=p.budget_wan * WAN,
                    control_price_fen=p.estimate_wan * WAN,
                    funding_sources=[
                        FundingSourceIn(kind=k, amount_fen=wan * WAN, description=d)  # type: ignore[arg-type]
                        for k, d, wan in p.funding
                    ],
                    sections=[SectionIn(code="01", name="施工总承包", estimated_price_fen=p.estimate_wan * WAN)],
                ),
            )
            await session.commit()
            return project.id, name, org

    def act(self, at: datetime) -> Act:
        return self.bidding.act(self.staff, at)

    async def publish(
        self,
        project_id: int,
        at: datetime,
        kind: str,
        title: str,
        body: list[str],
        fields: dict[str, Any],
        *,
        timetable: dict[str, datetime] | None = None,
        target: int | None = None,
        documents: bool = False,
        committee: bool = False,
    ) -> int:
        act = self.act(at)
        async with self.bidding.sessionmaker() as session:
            draft = await notice_services.create_draft(
                session,
                act,
                NoticeDraftCreate(
                    project_id=project_id,
                    kind=kind,
                    title=title,
                    body="\n".join(body),
                    fields=fields,
                    timetable=timetable or {},
                    target_notice_id=target,
                ),
            )
            if committee:
                await name_committee(session, self.bidding, act, draft.id)
            if documents:
                await attach_documents(session, act, draft.id, self.bidding.state.blobs)
            await notice_services.publish(session, act, draft.id, tz=SHANGHAI)
            await session.commit()
            self.published += 1
            return draft.id


def _contact(org: Organisation) -> str:
    return f"{org.name} {org.contact_name or ''} {org.contact_phone or ''}".strip()


def _funding_text(p: Planned) -> str:
    return "、".join(d for _k, d, _w in p.funding) + "，资金已落实"


async def _tender_plan(pub: _Publisher, p: Planned, at: datetime, tender_at: datetime) -> tuple[int, str, Organisation]:
    project_id, name, org = await pub.project(p, at)
    method = "公开招标（资格预审）" if p is BRIDGE else "公开招标"
    fields = {
        "project_overview": p.overview,
        "estimated_value_fen": p.estimate_wan * WAN,
        "expected_tender_time": _month(tender_at),
        "tender_method": method,
        "qualification": p.qualification,
        "funding_source": _funding_text(p),
        "tenderer_contact": _contact(org),
    }
    body = [
        "一、项目概况",
        f"项目名称：{name}。招标人：{org.name}。{p.overview}计划工期{p.days}日历天。",
        "二、招标计划",
        f"预计招标时间：{fields['expected_tender_time']}；招标方式：{method}；"
        f"估算合同金额：{wanyuan(p.estimate_wan * WAN)}；资金来源：{fields['funding_source']}。",
        "三、预计投标人资格要求",
        f"{p.qualification}。",
        "四、说明",
        "本招标计划为提前发布的预告信息，供潜在投标人提前了解和准备，不作为招标公告，平台不据此接受投标；"
        "招标的具体内容、资格条件和时间以正式发布的招标公告（资格预审公告）为准。",
    ]
    await pub.publish(project_id, at, "tender_plan", f"{name}招标计划", body, fields)
    return project_id, name, org


def _prequalification_fields(p: Planned, org: Organisation, sale_end: datetime) -> dict[str, Any]:
    return {
        "project_overview": f"{p.overview}计划工期{p.days}日历天；最高投标限价约{wanyuan(p.estimate_wan * WAN)}。",
        "funding_source": _funding_text(p),
        "qualification": p.qualification + "。",
        "consortium_allowed": False,
        "review_method": "qualified",
        "documents_how": f"于{cn_time(sale_end)}前使用CA数字证书登录湖南省公共资源交易平台下载电子资格预审文件，"
        "免费提供。",
        "submission_how": "通过湖南省公共资源交易平台递交加盖电子签章的资格预审申请文件，逾期送达的不予受理。",
        "tenderer_contact": _contact(org),
    }


async def _prequalification(
    pub: _Publisher, p: Planned, project_id: int, name: str, org: Organisation, at: datetime
) -> tuple[int, datetime]:
    sale_end = _day(at, 6, 17, 0)
    deadline = _day(sale_end, 6, 9, 30)
    fields = _prequalification_fields(p, org, sale_end)
    body = [
        "一、招标条件",
        f"本招标项目{name}已批准建设，项目业主为{org.name}，建设资金来自{fields['funding_source']}。"
        "项目已具备招标条件，现进行公开招标，特邀请有兴趣的潜在投标人提出资格预审申请。",
        "二、项目概况与招标范围",
        fields["project_overview"],
        "三、申请人资格要求",
        f"申请人须具备{p.qualification}。本次资格预审不接受联合体申请。",
        "四、资格预审方法",
        "本次资格预审采用合格制，凡通过初步审查和详细审查的申请人均通过资格预审。",
        "五、资格预审文件的获取",
        f"请于{cn_time(at)}至{cn_time(sale_end)}登录湖南省公共资源交易平台下载电子资格预审文件。",
        "六、资格预审申请文件的递交",
        f"递交截止时间为{cn_time(deadline)}，通过平台递交；逾期送达的申请文件不予受理。",
        "七、联系方式",
        f"招标人：{_contact(org)}。",
    ]
    notice_id = await pub.publish(
        project_id,
        at,
        "prequalification",
        f"{name}施工招标资格预审公告",
        body,
        fields,
        timetable={"documents_sale_start": at, "documents_sale_end": sale_end, "prequalification_deadline": deadline},
        documents=True,
    )
    return notice_id, deadline


async def seed_plans(bidding: Bidding, now: datetime) -> str:
    """Publish the demo's tender plans and prequalifications; returns a line for the seed's summary."""
    async with bidding.sessionmaker() as session:
        staff = await session.scalar(select(Person).where(Person.username == "cd_staff1"))
    if staff is None:
        return "招标计划与资格预审未设置（缺少常德市交易中心工作人员账号）"
    pub = _Publisher(bidding, staff)
    await _tender_plan(pub, ROAD, _day(now, -4), _day(now, 25))
    await _tender_plan(pub, SCHOOL, _day(now, -9, 10), _day(now, 45))

    # The bridge: planned, prequalified, its result published, then the invitation to bid opens its tender.
    project_id, name, org = await _tender_plan(pub, BRIDGE, _day(now, -48), _day(now, -30))
    prequalification, deadline = await _prequalification(pub, BRIDGE, project_id, name, org, _day(now, -30))
    result_at = _day(deadline, 3, 10)
    passed = [{"name": n, "credit_code": c} for n, c in BRIDGE_PASSED]
    await pub.publish(
        project_id,
        result_at,
        "prequalification_result",
        f"{name}施工招标资格预审结果公告",
        [
            "一、资格预审情况",
            f"本项目资格预审申请截止时间为{cn_time(deadline)}，共有{BRIDGE_APPLICANTS}家申请人递交资格预审申请文件。"
            f"资格审查委员会按资格预审文件规定的合格制进行审查，{len(passed)}家申请人通过资格预审。",
            "二、通过资格预审的申请人",
            "；".join(n for n, _c in BRIDGE_PASSED) + "。",
            "三、后续安排",
            "招标人将向通过资格预审的申请人发出投标邀请书；未通过资格预审的申请人已另行书面通知并说明理由，"
            "对结果有异议的，可自本公告发布之日起3日内向招标人提出。",
        ],
        {
            "applicants_count": BRIDGE_APPLICANTS,
            "passed": passed,
            "review_summary": "资格审查委员会由招标人代表1名和从评标专家库随机抽取的专家4名组成，按合格制审查。",
            "next_steps": "向通过资格预审的申请人发出投标邀请书，招标文件仅向其提供。",
        },
        target=prequalification,
    )
    issued = _day(result_at, 2)
    bid_deadline = _day(issued, 28, 9, 30)  # two weeks or more from now: the demo shows it open for bids
    sale_end = _day(issued, 7, 17)
    fields = _prequalification_fields(BRIDGE, org, sale_end)
    fields |= {
        "qualification": f"通过本项目资格预审的申请人（{len(passed)}家，见资格预审结果公告）。",
        "documents_how": f"通过资格预审的申请人于{cn_time(issued)}至{cn_time(sale_end)}"
        "登录湖南省公共资源交易平台下载电子招标文件。",
        "submission_how": "使用 bidding 客户端在本地加密投标文件，在投标截止时间前通过平台递交；截止后平台不再接收。",
    }
    del fields["review_method"]
    await pub.publish(
        project_id,
        issued,
        "tender",
        f"{name}施工投标邀请书（资格预审后）",
        [
            "一、招标条件",
            f"本招标项目{name}已批准建设，招标人为{org.name}，建设资金来自{fields['funding_source']}。",
            "二、投标邀请",
            f"你单位已通过本项目资格预审，现邀请你单位按招标文件要求参加投标。计划工期{BRIDGE.days}日历天。",
            "三、招标文件的获取",
            fields["documents_how"],
            "四、投标文件的递交",
            f"投标截止时间（即开标时间）为{cn_time(bid_deadline)}。{fields['submission_how']}",
        ],
        fields,
        timetable={
            "documents_issued": issued,
            "documents_sale_start": issued,
            "documents_sale_end": sale_end,
            "bid_deadline": bid_deadline,
            "opening": bid_deadline,
        },
        documents=True,
        committee=True,
    )

    # The hospital building takes prequalification applications now.
    at = _day(now, -3)
    project_id, name, org = await pub.project(HOSPITAL, at)
    await _prequalification(pub, HOSPITAL, project_id, name, org, at)
    bidding.state.clock.set(now)
    return (
        f"招标计划与资格预审：{pub.published} 条公告（{ROAD.name}、{SCHOOL.name}招标计划；"
        f"{BRIDGE.name}资格预审、结果及投标邀请书；住院综合楼资格预审申请中）"
    )
