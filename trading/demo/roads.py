"""The facts of the demo's live road tenders (trading.demo.sealed, trading.demo.evaluated) and the texts of their
tender notices, written from those facts: each road has its own name, district, tenderer, scope, budget, control
price and funding, so that what a notice says and what the project's fields hold never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from trading.regions import REGIONS

#: The opening form's quality every road bid offers, as the tender documents set it.
QUALITY = "合格"


@dataclass(frozen=True)
class Road:
    name: str
    region_code: str
    #: The tenderer, by its name among the demo's organisations (trading.demo.data).
    tenderer: str
    #: Where the road is, its length and what the works include (项目概况).
    scope: str
    budget_fen: int
    #: The control price (最高投标限价); the one section's estimated price as well.
    control_fen: int
    #: The part of the budget paid from the city's own funds; the rest is special bonds (专项债).
    fiscal_fen: int
    #: The construction period the tender documents set (计划工期, calendar days).
    days: int

    def __post_init__(self) -> None:
        assert self.control_fen <= self.budget_fen and 0 < self.fiscal_fen <= self.budget_fen, self.name

    @property
    def place(self) -> str:
        """Where the works are, as a notice names it (常德市鼎城区)."""
        name = REGIONS[self.region_code].name
        return name if self.region_code == "430700" else f"常德市{name}"

    @property
    def bond_fen(self) -> int:
        return self.budget_fen - self.fiscal_fen

    def funding_text(self, year: int) -> str:
        parts = [f"市级财政资金{_wan(self.fiscal_fen)}"]
        if self.bond_fen:
            parts.append(f"{year}年地方政府专项债券{_wan(self.bond_fen)}")
        return "、".join(parts) + "，资金已落实。"

    def tender_fields(self, tenderer: str, contact: str, published: datetime) -> dict[str, object]:
        """The tender notice's fields (notices.kinds: 10号令 §8), from the road's facts and its tenderer."""
        return {
            "project_overview": f"{self.name}位于{self.place}，{self.scope}计划工期{self.days}日历天，"
            f"最高投标限价{_yuan(self.control_fen)}。",
            "funding_source": self.funding_text(published.year),
            "qualification": "具备市政公用工程施工总承包二级及以上资质，"
            "拟派项目经理具备市政公用工程专业二级及以上注册建造师执业资格。",
            "consortium_allowed": False,
            "documents_how": "登录湖南省公共资源交易平台下载电子招标文件。",
            "submission_how": "使用 bidding 客户端在本地加密后递交（《电子招标投标办法》第二十六条）。",
            "tenderer_contact": f"{tenderer}，联系人：{contact}",
        }

    def tender_body(self, tenderer: str, published: datetime) -> str:
        return (
            f"一、招标条件\n{self.name}已批准建设，招标人为{tenderer}，建设资金来自{self.funding_text(published.year)}"
            "现对该项目的施工进行公开招标。\n"
            f"二、项目概况与招标范围\n建设地点：{self.place}。{self.scope}计划工期：{self.days}日历天。"
            f"项目预算：{_yuan(self.budget_fen)}；最高投标限价：{_yuan(self.control_fen)}，投标报价高于最高投标限价的按否决投标处理。\n"
            "三、投标文件的递交\n投标人须使用 bidding 客户端在本地加密投标文件并在截止时间前递交；截止后平台不再接收。"
        )


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}元"


def _wan(fen: int) -> str:
    return f"{fen / 1_000_000:,.0f}万元" if fen % 1_000_000 == 0 else f"{fen / 1_000_000:,.2f}万元"


#: The section whose deadline passes minutes after `trading demo` starts, for an opening to watch.
LIVE = Road(
    name="常德市柳叶湖环湖路提质改造工程（演示开标）",
    region_code="430700",
    tenderer="常德市交通运输局",
    scope="柳叶湖环湖路提质改造，全长约4.2公里，含路面、排水、照明及慢行系统。",
    budget_fen=42_000_000_00,
    control_fen=40_000_000_00,
    fiscal_fen=27_000_000_00,
    days=240,
)
#: The section still open for bids for days yet (the README's bidder seals for it).
LATER = Road(
    name="常德市武陵区滨湖路排水管网改造工程",
    region_code="430702",
    tenderer="常德市武陵区城市管理和综合执法局",
    scope="滨湖路（建设路至人民路段）雨污分流改造，新建雨水管网约3.1公里、污水管网约2.6公里，含检查井、路面恢复及交通疏解。",
    budget_fen=21_000_000_00,
    control_fen=20_000_000_00,
    fiscal_fen=21_000_000_00,
    days=180,
)
DESHAN = Road(
    name="常德市鼎城区德山大道东延线道路工程",
    region_code="430703",
    tenderer="常德市鼎城区住房和城乡建设局",
    scope="德山大道东延线西接德山大道、东至鼎城区工业大道，全长约3.6公里，红线宽40米，城市主干路，含道路、排水、照明、绿化及交通设施。",
    budget_fen=56_000_000_00,
    control_fen=54_000_000_00,
    fiscal_fen=34_000_000_00,
    days=360,
)
DANYANG = Road(
    name="常德市武陵区丹阳路道路提质改造工程",
    region_code="430702",
    tenderer="常德市武陵区交通运输局",
    scope="丹阳路（洞庭大道至朗州路段）提质改造，全长约1.8公里，含沥青路面加铺、人行道改造、雨水管网及路灯更换。",
    budget_fen=20_500_000_00,
    control_fen=19_500_000_00,
    fiscal_fen=12_500_000_00,
    days=240,
)
LIUYEHU = Road(
    name="常德市柳叶湖大道南段道路工程",
    region_code="430700",
    tenderer="常德市交通运输局",
    scope="柳叶湖大道南段（沅安路至柳叶湖路），全长约2.4公里，红线宽36米，城市次干路，含道路、排水、照明及绿化工程。",
    budget_fen=30_000_000_00,
    control_fen=28_500_000_00,
    fiscal_fen=18_000_000_00,
    days=300,
)
TAOLIN = Road(
    name="常德经济技术开发区桃林路道路工程",
    region_code="430700",
    tenderer="常德市住房和城乡建设局",
    scope="桃林路（德山大道至莲池路），全长约1.1公里，红线宽24米，城市支路，含道路、排水、照明及交通设施。",
    budget_fen=10_800_000_00,
    control_fen=10_200_000_00,
    fiscal_fen=10_800_000_00,
    days=210,
)
