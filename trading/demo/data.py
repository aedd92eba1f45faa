"""A deterministic demo world for 湖南省: trading centres, organisations, people, and projects with notices.

Pure data, no I/O: :func:`build_world` returns the same world for the same ``(today, seed)``, and the
``trading demo`` command writes it to the database. Every date is placed relative to ``today`` at 09:00
Asia/Shanghai, so the portal always shows trades open for bids, recent openings and older results.

Conventions the importer relies on:

- ``NoticeSpec.at`` is aware UTC and never later than ``today`` 09:00 local; a project's notices are in
  strictly increasing ``at`` order. ``timetable`` values are aware UTC datetimes.
- Money is integer fen; datetimes inside ``fields`` (and inside ``changes``) are ISO 8601 strings with
  ``+08:00``. Organisations inside fields are named, with their ``*_key`` beside the name.
- An amendment's ``changes`` is also its ``fields["changes"]``: ``{"timetable": {key: iso}}`` and/or
  ``{"fields": {key: value}}``, applied to the notice at index ``target`` (the opening notice).
- A termination's ``fields["outcome"]`` is ``"failed"`` (流标: fewer than three bids, published at the
  opening time, after the deadline — close the sections first) or ``"terminated"`` (终止).
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any, NamedTuple

import msgspec

from trading.accounts.credit_code import make_credit_code
from trading.projects.trade_code import make_trade_code
from trading.regions import REGIONS
from trading.rules.calendar import HOLIDAY, WorkCalendar
from trading.rules.holidays import seed_calendar

# --- what the world is made of --------------------------------------------------------------------


class CentreSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A trading centre (公共资源交易中心)."""

    code: str
    name: str
    region_code: str


class OrgSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A legal person: tenderer (招标人), agent (代理机构), bidder (投标人/竞买人) or transferor (出让人/转让方)."""

    key: str
    name: str
    credit_code: str
    kinds: tuple[str, ...]
    region_code: str
    address: str
    contact_name: str
    contact_phone: str


class PersonSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Someone who signs in; ``centre_code`` for staff and supervisors, ``org_key`` for bidders."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    centre_code: str | None = None
    org_key: str | None = None
    password: str


class FundingSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A source of funds (资金来源)."""

    kind: str
    description: str
    amount_fen: int


class SectionSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A bid section (标段) or lot (包)."""

    code: str
    name: str
    estimated_price_fen: int | None = None


class NoticeSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A notice as published (or drafted) at ``at``; see the module docstring for the conventions."""

    at: datetime
    action: str
    kind: str
    title: str
    body: str
    fields: dict[str, Any]
    section_codes: tuple[str, ...]
    timetable: dict[str, datetime] = msgspec.field(default_factory=dict)
    target: int | None = None
    changes: dict[str, Any] = msgspec.field(default_factory=dict)


class ProjectSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A trading project (交易项目) with its sections, funding and notices in time order."""

    trade_code: str
    name: str
    trade_kind: str
    procedure: str
    region_code: str
    centre_code: str
    tenderer_key: str
    agent_key: str | None
    description: str
    budget_fen: int | None
    control_price_fen: int | None
    funding: tuple[FundingSpec, ...]
    sections: tuple[SectionSpec, ...]
    notices: tuple[NoticeSpec, ...]
    #: The expert specialities its evaluation panel is drawn from (any of them; empty: no panel).
    specialities: tuple[str, ...] = ()


class DemoWorld(msgspec.Struct, frozen=True, kw_only=True):
    today: date
    centres: tuple[CentreSpec, ...]
    organisations: tuple[OrgSpec, ...]
    people: tuple[PersonSpec, ...]
    projects: tuple[ProjectSpec, ...]


# --- tables -----------------------------------------------------------------------------------------

#: China keeps no daylight saving time, so a fixed offset is exact (and needs no tz database).
CST = timezone(timedelta(hours=8), "Asia/Shanghai")

#: Demo passwords by role; ``trading demo`` prints them.
PASSWORDS = {
    "admin": "demo-admin-2026",
    "staff": "demo-staff-2026",
    "supervisor": "demo-supervisor-2026",
    "opener": "demo-opener-2026",
    "evaluator": "demo-expert-2026",
    "bidder": "demo-bidder-2026",
    "expert_keeper": "demo-keeper-2026",
}

#: (code, name, region, telephone area code)
_CENTRES = (
    ("HN", "湖南省公共资源交易中心", "430000", "0731"),
    ("CS", "长沙市公共资源交易中心", "430100", "0731"),
    ("CD", "常德市公共资源交易中心", "430700", "0736"),
    ("HH", "怀化市公共资源交易中心", "431200", "0745"),
    ("YY", "岳阳市公共资源交易中心", "430600", "0730"),
    ("HY", "衡阳市公共资源交易中心", "430400", "0734"),
    ("ZZ", "株洲市公共资源交易中心", "430200", "0731"),
)
_CITY_CENTRE = {region: code for code, _name, region, _area in _CENTRES}
_AREA_CODES = {region: area for _code, _name, region, area in _CENTRES}


class _Place(NamedTuple):
    code: str
    name: str
    #: one- or two-character short name used in document numbers (澧发改审〔2026〕12号, 澧国土挂〔2026〕3号)
    abbr: str
    #: how often projects land here
    weight: int
    towns: tuple[str, ...]
    streets: tuple[str, ...]
    rivers: tuple[str, ...]


#: (code, name, short name, weight); towns, streets and rivers follow in their own tables
_PLACE_ROWS = (
    ("430000", "湖南省", "湘", 0),
    ("430700", "常德市", "常", 3),
    ("430702", "武陵区", "武", 3),
    ("430703", "鼎城区", "鼎", 4),
    ("430721", "安乡县", "安", 3),
    ("430722", "汉寿县", "汉", 3),
    ("430723", "澧县", "澧", 5),
    ("430724", "临澧县", "临", 3),
    ("430725", "桃源县", "桃", 4),
    ("430726", "石门县", "石", 3),
    ("430781", "津市市", "津", 3),
    ("431200", "怀化市", "怀", 1),
    ("431202", "鹤城区", "鹤", 2),
    ("431228", "芷江侗族自治县", "芷", 2),
    ("431222", "沅陵县", "沅", 2),
    ("431281", "洪江市", "洪", 2),
    ("431224", "溆浦县", "溆", 1),
    ("430100", "长沙市", "长", 2),
    ("430104", "岳麓区", "岳麓", 2),
    ("430103", "天心区", "天心", 1),
    ("430181", "浏阳市", "浏", 2),
    ("430182", "宁乡市", "宁", 2),
    ("430121", "长沙县", "长县", 2),
    ("430600", "岳阳市", "岳", 1),
    ("430621", "岳阳县", "岳县", 1),
    ("430623", "华容县", "华", 1),
    ("430681", "汨罗市", "汨", 1),
    ("430400", "衡阳市", "衡", 1),
    ("430421", "衡阳县", "衡县", 1),
    ("430422", "衡南县", "衡南", 1),
    ("430481", "耒阳市", "耒", 1),
    ("430200", "株洲市", "株", 1),
    ("430211", "天元区", "天元", 1),
    ("430281", "醴陵市", "醴", 1),
    ("430223", "攸县", "攸", 1),
)
_TOWNS = {
    "430000": "岳麓街道",
    "430700": "德山街道 河洑镇",
    "430702": "丹洲乡 河洑镇 芦荻山乡 芙蓉街道",
    "430703": "灌溪镇 石公桥镇 蒿子港镇 周家店镇 谢家铺镇",
    "430721": "深柳镇 黄山头镇 安障乡 大湖口镇",
    "430722": "龙阳街道 岩汪湖镇 坡头镇 沧港镇",
    "430723": "澧阳街道 小渡口镇 大堰垱镇 梦溪镇 甘溪滩镇 王家厂镇 码头铺镇",
    "430724": "安福街道 合口镇 新安镇 修梅镇",
    "430725": "漳江街道 陬市镇 郑家驿镇 热市镇 三阳港镇",
    "430726": "楚江街道 易家渡镇 夹山镇 皂市镇 壶瓶山镇",
    "430781": "嘉山街道 新洲镇 白衣镇 药山镇",
    "431200": "城北街道 坨院街道",
    "431202": "黄金坳镇 凉亭坳乡 坨院街道 城北街道",
    "431228": "芷江镇 新店坪镇 罗旧镇 土桥镇",
    "431222": "沅陵镇 官庄镇 凉水井镇",
    "431281": "黔城镇 安江镇 托口镇",
    "431224": "卢峰镇 龙潭镇 低庄镇",
    "430100": "暮云街道 含浦街道",
    "430104": "含浦街道 莲花镇 雨敞坪镇 坪塘街道",
    "430103": "暮云街道 南托街道 大托铺街道",
    "430181": "集里街道 永安镇 大瑶镇 沙市镇 官渡镇",
    "430182": "玉潭街道 花明楼镇 灰汤镇 煤炭坝镇 双凫铺镇",
    "430121": "星沙街道 黄花镇 福临镇 金井镇 春华镇",
    "430600": "南湖街道 洞庭街道",
    "430621": "荣家湾镇 新墙镇 筻口镇",
    "430623": "章华镇 治河渡镇 插旗镇",
    "430681": "新市镇 长乐镇 屈子祠镇",
    "430400": "酃湖乡 雨母山镇",
    "430421": "西渡镇 井头镇 演陂镇",
    "430422": "云集街道 茶市镇 冠市镇",
    "430481": "蔡子池街道 小水镇 大市镇",
    "430200": "马家河街道 白关镇",
    "430211": "群丰镇 雷打石镇 马家河街道",
    "430281": "浦口镇 白兔潭镇 王仙镇",
    "430223": "联星街道 网岭镇 皇图岭镇",
}
_STREETS = {
    "430000": "韶山北路 湘府西路 五一大道",
    "430700": "洞庭大道 朗州路 人民路 皂果路 桃花源路",
    "430702": "武陵大道 建设路 柳叶大道 紫菱路",
    "430703": "鼎城路 善卷路 金霞路 桥南路",
    "430721": "书院路 深柳大道 安康路",
    "430722": "龙阳路 汉寿大道 青松路",
    "430723": "荆州路 澧浦大道 襄阳街 澧阳路 城头山大道",
    "430724": "安福路 望城路 道水路",
    "430725": "漳江路 桃花路 沅水大道",
    "430726": "宝峰路 澧阳大道 人民路",
    "430781": "孟姜女大道 人民路 窑坡路",
    "431200": "迎丰路 鹤洲路 天星路",
    "431202": "迎丰中路 锦溪路 人民路",
    "431228": "和平路 潕阳路 沅江路",
    "431222": "辰州大道 鹤鸣路 滨江路",
    "431281": "芙蓉路 沅江路 太平路",
    "431224": "警予路 溆水路 长乐路",
    "430100": "芙蓉路 五一大道 湘江大道 韶山路",
    "430104": "麓山南路 桐梓坡路 含浦大道 坪塘大道",
    "430103": "书院路 芙蓉南路 友谊路",
    "430181": "金沙路 白沙路 人民路",
    "430182": "玉潭路 花明路 一环路",
    "430121": "开元路 东四线 星沙大道",
    "430600": "巴陵中路 岳阳大道 金鹗路",
    "430621": "建设路 新开路 荣家湾大道",
    "430623": "华容大道 团结路 桥东路",
    "430681": "罗城路 汨罗大道 建设路",
    "430400": "解放大道 蒸湘北路 船山大道",
    "430421": "蒸阳大道 西渡路 岣嵝路",
    "430422": "云集大道 衡南大道 湘江路",
    "430481": "蔡伦大道 五一路 青年路",
    "430200": "株洲大道 新华路 长江北路",
    "430211": "泰山路 黄河北路 珠江北路",
    "430281": "瓷城大道 南环路 解放路",
    "430223": "攸州路 东正街 交通路",
}
_RIVERS = {
    "430000": "湘江",
    "430700": "沅水 穿紫河",
    "430702": "穿紫河 沅水",
    "430703": "沅水 枉水",
    "430721": "松滋河 虎渡河",
    "430722": "沅水 沧浪河",
    "430723": "澧水 涔水 澹水",
    "430724": "道水 澧水",
    "430725": "沅水 夷望溪",
    "430726": "澧水 渫水",
    "430781": "澧水 澹水",
    "431200": "舞水",
    "431202": "舞水",
    "431228": "舞水",
    "431222": "沅水 酉水",
    "431281": "沅水 巫水",
    "431224": "溆水",
    "430100": "湘江 浏阳河",
    "430104": "湘江 靳江河",
    "430103": "湘江",
    "430181": "浏阳河 捞刀河",
    "430182": "沩水 楚江",
    "430121": "捞刀河 浏阳河",
    "430600": "新墙河",
    "430621": "新墙河",
    "430623": "华容河",
    "430681": "汨罗江",
    "430400": "湘江 蒸水",
    "430421": "蒸水",
    "430422": "耒水",
    "430481": "耒水",
    "430200": "湘江",
    "430211": "湘江",
    "430281": "渌水",
    "430223": "洣水",
}
_ALL_PLACES = tuple(
    _Place(code, name, abbr, weight, *(tuple(t[code].split()) for t in (_TOWNS, _STREETS, _RIVERS)))
    for code, name, abbr, weight in _PLACE_ROWS
)
_PROVINCE = _ALL_PLACES[0]
_PLACES = _ALL_PLACES[1:]
_BY_CODE = {p.code: p for p in _ALL_PLACES}


def _city_code(code: str) -> str:
    return "430000" if code == "430000" else code[:4] + "00"


def _city_name(code: str) -> str:
    return _BY_CODE[_city_code(code)].name


def _level(place: _Place) -> str:
    if place.code == "430000":
        return "province"
    if place.code.endswith("00"):
        return "city"
    return "district" if place.name.endswith("区") else "county"


def _org_prefix(place: _Place) -> str:
    """How an organisation's name starts: 澧县…, 常德市…, 常德市鼎城区…, 湖南省…"""
    return _city_name(place.code) + place.name if _level(place) == "district" else place.name


#: department key -> (county or district name, city name, province name, registration + type code)
_DEPTS: dict[str, tuple[str, str, str, str]] = {
    "transport": ("交通运输局", "交通运输局", "交通运输厅", "11"),
    "housing": ("住房和城乡建设局", "住房和城乡建设局", "住房和城乡建设厅", "11"),
    "education": ("教育局", "教育局", "教育厅", "11"),
    "water": ("水利局", "水利局", "水利厅", "11"),
    "urban": ("城市管理和综合执法局", "城市管理和综合执法局", "住房和城乡建设厅", "11"),
    "emergency": ("应急管理局", "应急管理局", "应急管理厅", "11"),
    "government": ("人民政府办公室", "人民政府办公室", "人民政府办公厅", "11"),
    "development": ("发展和改革局", "发展和改革委员会", "发展和改革委员会", "11"),
    "finance": ("财政局", "财政局", "财政厅", "11"),
    "land": ("自然资源局", "自然资源和规划局", "自然资源厅", "11"),
    "hospital": ("人民医院", "第一人民医院", "人民医院", "12"),
    "tcm": ("中医医院", "中医医院", "中医医院", "12"),
    "school": ("第一中学", "第一中学", "第一中学", "12"),
    "waterworks": ("自来水公司", "自来水有限责任公司", "自来水有限责任公司", "91"),
}


def _dept_name(place: _Place, dept: str) -> str:
    county, city, province, _code = _DEPTS[dept]
    level = _level(place)
    if level == "province":
        return place.name + province
    if level == "city":
        return place.name + city
    if dept == "land" and level == "district":
        # Districts have no bureau of their own: the city bureau's branch (分局) acts for them.
        return f"{_city_name(place.code)}自然资源和规划局{place.name.removesuffix('区')}分局"
    return _org_prefix(place) + county


class _Firm(NamedTuple):
    key: str
    name: str
    region: str
    #: what it bids for: "works", a procurement tag, "land" or "property"
    tags: tuple[str, ...]


_AGENTS = (
    _Firm("xiangzi-consulting", "湖南湘咨工程咨询有限公司", "430104", ()),
    _Firm("dezheng-consulting", "湖南德正工程咨询有限公司", "430702", ()),
    _Firm("cd-chengxin-tendering", "常德诚信招标代理有限公司", "430703", ()),
    _Firm("wuxi-consulting", "怀化五溪工程咨询有限公司", "431202", ()),
    _Firm("chuheng-pm", "湖南楚衡项目管理有限公司", "430407", ()),
    _Firm("zhongtian-consulting", "长沙中天工程咨询有限公司", "430103", ()),
    _Firm("dongting-consulting", "岳阳洞庭工程咨询有限公司", "430602", ()),
    _Firm("xiangchuang-pm", "株洲湘创项目管理有限公司", "430211", ()),
)

_BIDDERS = (
    # construction
    _Firm("xiangzhong-luqiao", "湖南湘中路桥建设有限公司", "430104", ("works",)),
    _Firm("lishui-construction", "湖南澧水建设集团有限公司", "430723", ("works",)),
    _Firm("wuling-jiangong", "常德市武陵建工有限责任公司", "430702", ("works",)),
    _Firm("yuanjiang-municipal", "湖南沅江市政工程有限公司", "430703", ("works",)),
    _Firm("wuxi-construction", "怀化五溪建设工程有限公司", "431202", ("works",)),
    _Firm("dongting-hydro", "湖南洞庭水利水电建设有限公司", "430602", ("works",)),
    _Firm("furong-jiangong", "湖南芙蓉建工集团有限公司", "430102", ("works",)),
    _Firm("chutian-transport", "湖南楚天交通建设有限公司", "430103", ("works",)),
    _Firm("xiangjiang-installation", "湖南湘江建筑安装有限公司", "430211", ("works",)),
    _Firm("yancheng-luqiao", "衡阳雁城路桥工程有限公司", "430407", ("works",)),
    _Firm("taohuayuan-construction", "湖南桃花源建设工程有限公司", "430725", ("works",)),
    _Firm("deshan-water", "湖南德山水务工程有限公司", "430703", ("works",)),
    _Firm("sanxiang-landscape", "湖南三湘园林市政工程有限公司", "430181", ("works",)),
    _Firm("xingcheng-municipal", "湖南星城市政建设有限公司", "430121", ("works",)),
    _Firm("baling-construction", "岳阳巴陵建设工程有限公司", "430602", ("works",)),
    _Firm("shennong-construction", "株洲神农建设工程有限公司", "430202", ("works",)),
    _Firm("wulingshan-luqiao", "湖南武陵山路桥建设有限公司", "431202", ("works",)),
    _Firm("wushui-construction", "湖南舞水建设工程有限公司", "431228", ("works",)),
    # suppliers and service providers
    _Firm("kangning-medical", "湖南康宁医疗器械有限公司", "430103", ("medical",)),
    _Firm("ruikang-medical", "湖南瑞康医疗设备有限公司", "430105", ("medical",)),
    _Firm("renhe-medical", "常德仁和医疗科技有限公司", "430702", ("medical",)),
    _Firm("boya-education", "湖南博雅教学设备有限公司", "430104", ("education",)),
    _Firm("zhijiao-tech", "长沙智教科技有限公司", "430111", ("education",)),
    _Firm("yucai-equipment", "怀化育才教育装备有限公司", "431202", ("education",)),
    _Firm("yunxiang-it", "湖南云湘信息技术有限公司", "430104", ("it",)),
    _Firm("shulian-it", "湖南数联信息科技有限公司", "430111", ("it",)),
    _Firm("zhicheng-network", "常德智城网络科技有限公司", "430702", ("it",)),
    _Firm("hengan-property", "湖南恒安物业服务有限公司", "430102", ("service",)),
    _Firm("jieyuan-environment", "湖南洁源环境服务有限公司", "430105", ("service",)),
    _Firm("kangju-property", "常德康居物业管理有限公司", "430703", ("service",)),
    _Firm("derun-office", "常德德润办公设备有限公司", "430702", ("goods",)),
    _Firm("anjie-emergency", "湖南安捷应急装备有限公司", "430121", ("goods",)),
    _Firm("huachi-auto", "湖南华驰汽车销售服务有限公司", "430112", ("goods",)),
    _Firm("xiangchu-planning", "湖南湘楚规划设计院有限公司", "430104", ("design",)),
    _Firm("tongqu-survey", "湖南通衢交通勘察设计有限公司", "430103", ("design",)),
    _Firm("runze-consulting", "湖南中水润泽工程咨询有限公司", "430102", ("design",)),
    # developers and other buyers
    _Firm("jinqiao-property", "常德金桥置业有限公司", "430702", ("land", "property")),
    _Firm("runhe-development", "湖南润和房地产开发有限公司", "430104", ("land",)),
    _Firm("lushan-property", "长沙麓山置业有限公司", "430104", ("land",)),
    _Firm("huating-development", "湖南华庭房地产开发有限公司", "430102", ("land",)),
    _Firm("nanhu-property", "岳阳南湖置业有限公司", "430602", ("land",)),
    _Firm("xiangnan-property", "衡阳湘南置业有限公司", "430408", ("land",)),
    _Firm("heming-property", "怀化鹤鸣置业有限公司", "431202", ("land",)),
    _Firm("jincheng-industrial", "湖南锦程实业有限公司", "430723", ("land", "property")),
    _Firm("zhongwang-materials", "湖南中旺新材料有限公司", "430781", ("land",)),
    _Firm("xinda-auto", "湖南鑫达汽车贸易有限公司", "430702", ("property",)),
    _Firm("shuntai-trading", "常德市顺泰商贸有限公司", "430703", ("property",)),
    _Firm("hengxin-assets", "湖南恒信资产管理有限公司", "430103", ("property",)),
    _Firm("lx-xingye-trading", "澧县兴业商贸有限公司", "430723", ("property",)),
)

#: Bidder organisations that get a login (username ``bidder_`` + the key with underscores).
_BIDDER_LOGINS = (
    "xiangzhong-luqiao lishui-construction wuling-jiangong wuxi-construction chutian-transport "
    "deshan-water kangning-medical boya-education yunxiang-it hengan-property "
    "jinqiao-property runhe-development xinda-auto"
).split()


class _Transferor(NamedTuple):
    """A state-owned company (国资委出资企业) that sells property rights."""

    key: str
    name: str
    region: str
    centre: str
    subsidiary: str
    street: str
    regulator: str


_PROPERTY_SELLERS = (
    _Transferor(
        "cd-deyuan-assets",
        "常德市德源资产经营有限公司",
        "430702",
        "CD",
        "常德德源物流有限公司",
        "常德市武陵区朗州路",
        "常德市人民政府国有资产监督管理委员会",
    ),
    _Transferor(
        "lx-lanjiang-assets",
        "澧县兰江国有资产经营有限公司",
        "430723",
        "CD",
        "澧县兰江建材有限公司",
        "澧县澧阳街道荆州路",
        "澧县人民政府国有资产监督管理办公室",
    ),
    _Transferor(
        "hh-wuxi-assets",
        "怀化市五溪国有资产经营有限公司",
        "431202",
        "HH",
        "怀化五溪旅游开发有限公司",
        "怀化市鹤城区迎丰中路",
        "怀化市人民政府国有资产监督管理委员会",
    ),
    _Transferor(
        "cs-xingcheng-assets",
        "长沙市星城资产管理有限公司",
        "430102",
        "CS",
        "长沙星城停车管理有限公司",
        "长沙市芙蓉区五一大道",
        "长沙市人民政府国有资产监督管理委员会",
    ),
    _Transferor(
        "yy-baling-capital",
        "岳阳市巴陵国有资本运营有限公司",
        "430602",
        "YY",
        "岳阳巴陵文化传媒有限公司",
        "岳阳市岳阳楼区巴陵中路",
        "岳阳市人民政府国有资产监督管理委员会",
    ),
    _Transferor(
        "hn-xiangcai-assets",
        "湖南湘财资产经营有限公司",
        "430102",
        "HN",
        "湖南湘财物业管理有限公司",
        "长沙市芙蓉区韶山北路",
        "湖南省人民政府国有资产监督管理委员会",
    ),
)

_SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许彭曾萧蒋蔡贾丁魏薛叶余潘"
    "杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷汤易常贺龚文向覃"
)
_GIVEN = tuple(
    (
        "建国 志强 海燕 丽华 文杰 晓明 红梅 俊峰 雪梅 振华 湘平 德明 永红 立新 春生 卫东 "
        "秀英 桂兰 国庆 建军 明辉 思远 子涵 雨婷 浩然 佳怡 志刚 新民 玉兰 学军 继红 小平 "
        "长江 湘云 沅芳 澧兰 敏 勇 静 军 磊 涛 芳 斌 洁 超 伟 丹 "
        "琳 晨 艳 鹏 慧 松柏 光明 跃进 冬梅 嘉欣 宇航 若曦"
    ).split()
)
_CN_NUMBERS = "一二三四五六七八九十"


class _Works(NamedTuple):
    """A kind of public works: name and scale templates, who tenders it, qualification, size and money."""

    variants: tuple[tuple[str, str, str], ...]  # (name template, scale template, tendering department)
    scope: str
    qualification: str
    leader: str
    supervisor: str  # department that supervises the tender
    wan: tuple[int, int]  # control price range, 万元
    days: tuple[int, int]
    split: str  # "stations" (K0+000 stakes), "reaches" (河段/片区) or "single"
    funding: tuple[tuple[str, str], ...]


_MUNICIPAL_QUALIFICATION = "市政公用工程施工总承包三级及以上资质，并具有有效的安全生产许可证"
_MUNICIPAL_LEADER = "市政公用工程专业二级及以上注册建造师执业资格，并持有有效的安全生产考核合格证书（B证）"
_BUILDING_QUALIFICATION = "建筑工程施工总承包二级及以上资质，并具有有效的安全生产许可证"
_BUILDING_LEADER = "建筑工程专业二级及以上注册建造师执业资格，并持有有效的安全生产考核合格证书（B证）"
_HIGHWAY_QUALIFICATION = "公路工程施工总承包三级及以上资质，并具有有效的安全生产许可证"
_HIGHWAY_LEADER = "公路工程专业二级及以上注册建造师执业资格，并持有有效的安全生产考核合格证书（B证）"

_WORKS: dict[str, _Works] = {
    "road_urban": _Works(
        variants=(
            (
                "{place}城区{street}道路改造工程",
                "道路全长约{km}公里，红线宽度{width}米，主要建设内容包括道路工程、雨污分流排水工程、照明工程、交通工程及绿化工程。",
                "housing",
            ),
            (
                "{place}{street}（{street2}至{street3}段）道路提质改造工程",
                "改造道路长约{km}公里，红线宽度{width}米，实施路面刷黑、人行道改造、雨污分流、杆线下地及路灯更换。",
                "urban",
            ),
        ),
        scope="施工图范围内的道路、排水、照明、交通设施及绿化工程施工，具体以工程量清单为准。",
        qualification=_MUNICIPAL_QUALIFICATION,
        leader=_MUNICIPAL_LEADER,
        supervisor="housing",
        wan=(300, 8000),
        days=(180, 365),
        split="stations",
        funding=(("fiscal", "{level}财政资金"), ("special_bond", "{year}年地方政府专项债券")),
    ),
    "road_rural": _Works(
        variants=(
            (
                "{place}{year}年农村公路提质改造工程",
                "提质改造农村公路{km}公里，路基宽度{width_rural}米，采用C30水泥混凝土路面，同步完善排水、错车道及安全生命防护设施。",
                "transport",
            ),
            (
                "{place}{town}至{town2}道路提质改造工程",
                "改造道路全长{km}公里，按四级公路标准建设，路基宽度{width_rural}米，建设内容包括路基、路面、桥涵、排水及交通安全设施。",
                "transport",
            ),
            (
                "{place}{town}农村道路安全生命防护工程",
                "对{town}境内{km}公里农村道路实施安全生命防护，新建波形护栏、警示桩、减速带及交通标志标线。",
                "transport",
            ),
        ),
        scope="路基、路面、桥涵、排水及交通安全设施工程施工，具体以施工图及工程量清单为准。",
        qualification=_HIGHWAY_QUALIFICATION,
        leader=_HIGHWAY_LEADER,
        supervisor="transport",
        wan=(300, 3000),
        days=(150, 300),
        split="stations",
        funding=(("fiscal", "中央车购税补助资金"), ("fiscal", "{level}财政配套资金")),
    ),
    "road_new": _Works(
        variants=(
            (
                "{place}{new_road}新建道路工程",
                "新建城市次干道{km}公里，设计速度40公里/小时，红线宽度{width}米，建设内容包括道路、桥涵、排水、照明、交通及绿化工程。",
                "housing",
            ),
        ),
        scope="道路、桥涵、排水、照明、交通及绿化工程施工，具体以施工图及工程量清单为准。",
        qualification="市政公用工程施工总承包二级及以上资质，并具有有效的安全生产许可证",
        leader=_MUNICIPAL_LEADER,
        supervisor="housing",
        wan=(2000, 8000),
        days=(300, 540),
        split="stations",
        funding=(
            ("special_bond", "{year}年地方政府专项债券"),
            ("fiscal", "{level}财政资金"),
            ("bank_loan", "国家开发银行政策性贷款"),
        ),
    ),
    "bridge": _Works(
        variants=(
            (
                "{place}{river}大桥新建工程",
                "新建桥梁全长{bridge_m}米，桥面宽度{bridge_w}米，上部结构采用预应力混凝土连续箱梁，下部结构采用柱式墩、桩基础，同步建设两岸接线道路{approach}米。",
                "transport",
            ),
            (
                "{place}{year}年危旧桥梁改造工程",
                "改造危旧桥梁{bridges}座，总长{bridge_m}米，拆除重建上部结构、加固下部结构，同步完善桥面系及防护设施。",
                "transport",
            ),
        ),
        scope="桥梁及接线道路工程施工，具体以施工图及工程量清单为准。",
        qualification="公路工程施工总承包二级及以上资质或桥梁工程专业承包二级及以上资质，并具有有效的安全生产许可证",
        leader=_HIGHWAY_LEADER,
        supervisor="transport",
        wan=(800, 6000),
        days=(240, 540),
        split="single",
        funding=(
            ("fiscal", "中央车购税补助资金"),
            ("special_bond", "{year}年地方政府专项债券"),
            ("fiscal", "{level}财政资金"),
        ),
    ),
    "school_new": _Works(
        variants=(
            (
                "{place}{direction}学校新建工程",
                "新建九年一贯制学校，办学规模{classes}个班，总建筑面积约{area}平方米，建设教学楼、综合楼、学生宿舍、食堂、风雨操场及室外运动场。",
                "education",
            ),
            (
                "{place}第{nth}中学新校区建设工程",
                "新建高级中学校区，办学规模{classes}个班，总建筑面积约{area}平方米，建设教学楼、实验楼、图书馆、学生公寓、食堂及400米标准运动场。",
                "education",
            ),
        ),
        scope="施工图范围内的土建、装饰装修、给排水、电气、消防、智能化及室外附属工程施工。",
        qualification=_BUILDING_QUALIFICATION,
        leader=_BUILDING_LEADER,
        supervisor="housing",
        wan=(1000, 12000),
        days=(365, 600),
        split="single",
        funding=(
            ("special_bond", "{year}年地方政府专项债券"),
            ("fiscal", "中央预算内投资"),
            ("fiscal", "{level}财政资金"),
        ),
    ),
    "school_expand": _Works(
        variants=(
            (
                "{place}{town}中心学校改扩建工程",
                "新建教学综合楼及学生宿舍，总建筑面积约{area}平方米，改造原有教学楼、运动场及校园道路，新增学位{seats}个。",
                "education",
            ),
            (
                "{place}{town}九年一贯制学校改扩建工程",
                "新建教学楼、食堂及学生宿舍，总建筑面积约{area}平方米，配套改造校园道路、给排水及供配电设施。",
                "education",
            ),
        ),
        scope="新建及改造工程的土建、装饰装修、水电安装、消防及室外附属工程施工。",
        qualification="建筑工程施工总承包三级及以上资质，并具有有效的安全生产许可证",
        leader=_BUILDING_LEADER,
        supervisor="housing",
        wan=(1000, 4000),
        days=(240, 420),
        split="single",
        funding=(("fiscal", "中央预算内投资"), ("fiscal", "{level}财政资金")),
    ),
    "hospital": _Works(
        variants=(
            (
                "{org}住院综合楼建设工程",
                "新建住院综合楼，地上{floors}层、地下1层，总建筑面积约{area}平方米，设置床位{beds}张，配套建设医用气体、净化、智能化及室外附属工程。",
                "hospital",
            ),
            (
                "{org}门诊医技楼建设工程",
                "新建门诊医技楼，地上{floors}层、地下1层，总建筑面积约{area}平方米，配套建设医用气体、物流传输、净化及智能化工程。",
                "tcm",
            ),
        ),
        scope="施工图范围内的土建、装饰装修、安装、医用专项及室外附属工程施工。",
        qualification="建筑工程施工总承包一级及以上资质，并具有有效的安全生产许可证",
        leader="建筑工程专业一级注册建造师执业资格，并持有有效的安全生产考核合格证书（B证）",
        supervisor="housing",
        wan=(3000, 15000),
        days=(540, 900),
        split="single",
        funding=(
            ("special_bond", "{year}年地方政府专项债券"),
            ("fiscal", "中央预算内投资"),
            ("self_raised", "医院自筹资金"),
        ),
    ),
    "water": _Works(
        variants=(
            (
                "{place}第二水厂扩建工程",
                "新增供水规模{capacity}万吨/日，建设取水泵房、絮凝沉淀池、V型滤池、清水池、送水泵房及配套出厂管网{pipe}公里。",
                "waterworks",
            ),
            (
                "{place}城乡供水一体化工程（{town}片区）",
                "新建及改造供水管网{pipe}公里，新建加压泵站{pumps}座，解决{town}片区约{people}万人饮水安全问题。",
                "waterworks",
            ),
        ),
        scope="厂区构筑物、设备安装及供水管网工程施工，具体以施工图及工程量清单为准。",
        qualification="市政公用工程施工总承包二级及以上资质，并具有有效的安全生产许可证",
        leader=_MUNICIPAL_LEADER,
        supervisor="housing",
        wan=(1000, 9000),
        days=(300, 540),
        split="reaches",
        funding=(
            ("special_bond", "{year}年地方政府专项债券"),
            ("bank_loan", "中国农业发展银行贷款"),
            ("self_raised", "企业自筹资金"),
        ),
    ),
    "sewage": _Works(
        variants=(
            (
                "{place}污水处理厂提标改造工程",
                "污水处理规模{capacity}万吨/日，出水水质由一级B提升至一级A标准，新建深度处理车间、除磷加药间及配套设施。",
                "housing",
            ),
            (
                "{place}乡镇污水处理设施建设工程",
                "新建{town}等{towns}个乡镇污水处理站，总处理规模{small_capacity}吨/日，配套污水收集管网{pipe}公里。",
                "housing",
            ),
        ),
        scope="污水处理构筑物、设备安装及收集管网工程施工，具体以施工图及工程量清单为准。",
        qualification=_MUNICIPAL_QUALIFICATION,
        leader=_MUNICIPAL_LEADER,
        supervisor="housing",
        wan=(1000, 6000),
        days=(240, 450),
        split="reaches",
        funding=(
            ("fiscal", "中央预算内投资"),
            ("special_bond", "{year}年地方政府专项债券"),
            ("fiscal", "{level}财政资金"),
        ),
    ),
    "river": _Works(
        variants=(
            (
                "{river}{place}段河道综合治理工程",
                "治理河道长度{km}公里，主要建设内容包括堤防加固、护岸、河道清淤疏浚、穿堤建筑物改造及防汛道路。",
                "water",
            ),
        ),
        scope="堤防、护岸、清淤疏浚、穿堤建筑物及防汛道路工程施工，具体以施工图及工程量清单为准。",
        qualification="水利水电工程施工总承包三级及以上资质，并具有有效的安全生产许可证",
        leader="水利水电工程专业二级及以上注册建造师执业资格，并持有水利水电工程施工企业项目负责人安全生产考核合格证书",
        supervisor="water",
        wan=(800, 6000),
        days=(180, 365),
        split="reaches",
        funding=(("fiscal", "中央水利发展资金"), ("fiscal", "{level}财政资金")),
    ),
    "housing": _Works(
        variants=(
            (
                "{place}{year}年保障性租赁住房建设项目",
                "新建保障性租赁住房{units}套，总建筑面积约{area}平方米，配套建设地下车库、道路、绿化及室外管网。",
                "housing",
            ),
            (
                "{place}{street}片区城镇老旧小区改造工程",
                "改造老旧小区{estates}个，涉及居民{units}户，主要内容包括小区内道路及管网改造、外立面整治、消防及照明设施完善。",
                "housing",
            ),
        ),
        scope="施工图范围内的土建、安装、室外配套及绿化工程施工，具体以工程量清单为准。",
        qualification=_BUILDING_QUALIFICATION,
        leader=_BUILDING_LEADER,
        supervisor="housing",
        wan=(2000, 10000),
        days=(300, 600),
        split="single",
        funding=(("fiscal", "中央财政保障性安居工程补助资金"), ("special_bond", "{year}年地方政府专项债券")),
    ),
}


class _Goods(NamedTuple):
    """A kind of government purchase: name and requirement templates, items, suppliers and money."""

    variants: tuple[tuple[str, str, str], ...]  # (name template, requirements template, purchaser department)
    items: tuple[tuple[str, str, int, int], ...]  # (name, unit, least, most) — the last is one lump
    qualification: str
    tag: str  # which suppliers answer
    wan: tuple[int, int]  # budget range, 万元
    term: str
    allow_province: bool = False


_GOODS: dict[str, _Goods] = {
    "medical_equipment": _Goods(
        variants=(
            (
                "{org}医疗设备采购项目",
                "采购{items}，所投设备须为全新未使用产品，质保期不少于3年，提供原厂授权及售后服务承诺，详见采购文件第三章采购需求。",
                "hospital",
            ),
            (
                "{org}{year}年医用设备采购项目",
                "采购{items}，设备须满足临床科室使用要求，提供安装调试、操作培训及不少于3年的免费保修服务。",
                "hospital",
            ),
        ),
        items=(
            ("64排螺旋CT", "台", 1, 1),
            ("彩色多普勒超声诊断仪", "台", 1, 3),
            ("全自动生化分析仪", "台", 1, 2),
            ("医用内窥镜系统", "套", 1, 2),
            ("安装调试及培训", "项", 1, 1),
        ),
        qualification="所投产品属于第二类、第三类医疗器械的，投标人须具有相应的医疗器械经营备案凭证或经营许可证",
        tag="medical",
        wan=(50, 800),
        term="合同签订后60日内交货并安装调试完毕，质保期3年",
        allow_province=True,
    ),
    "teaching_equipment": _Goods(
        variants=(
            (
                "{place}{year}年中小学教学设备采购项目",
                "为全县（区）中小学采购{items}，产品须符合国家教育装备相关标准，提供3年免费上门维保服务。",
                "education",
            ),
            (
                "{place}乡村学校多媒体教学设备采购项目",
                "为乡村学校采购{items}，含安装、调试及教师使用培训，质保期不少于3年。",
                "education",
            ),
        ),
        items=(
            ("交互式智能平板", "台", 20, 120),
            ("学生计算机", "台", 50, 300),
            ("理化生实验室设备", "套", 2, 8),
            ("安装调试及培训", "项", 1, 1),
        ),
        qualification="无特定资格要求，本项目专门面向中小企业采购",
        tag="education",
        wan=(80, 600),
        term="合同签订后45日内交货并安装调试完毕，质保期3年",
    ),
    "property_service": _Goods(
        variants=(
            (
                "{org}物业管理服务采购项目",
                "服务范围包括院区约{service_area}平方米的保洁、秩序维护、绿化养护、设施设备运行维护及会务服务，服务期三年。",
                "hospital",
            ),
            (
                "{org}办公区物业管理服务采购项目",
                "服务范围包括办公区约{service_area}平方米的保洁、安保、绿化养护、水电维修及会务服务，服务期三年。",
                "government",
            ),
        ),
        items=(("物业管理服务（保洁、秩序维护、设施运维）", "年", 3, 3),),
        qualification="无特定资格要求",
        tag="service",
        wan=(60, 500),
        term="三年，合同一年一签，考核合格后续签",
        allow_province=True,
    ),
    "information_system": _Goods(
        variants=(
            (
                "{place}智慧城管信息化平台建设项目",
                "建设智慧城管综合指挥平台，包括{items}，实现城市部件事件的发现、派遣、处置和考核闭环管理，系统须通过网络安全等级保护三级测评。",
                "urban",
            ),
            (
                "{org}信息化系统升级改造项目",
                "对医院信息系统进行升级改造，包括{items}，满足电子病历系统应用水平分级评价四级要求。",
                "hospital",
            ),
        ),
        items=(
            ("平台软件开发及部署", "套", 1, 1),
            ("服务器及存储设备", "台", 4, 12),
            ("网络安全设备", "台", 2, 6),
            ("系统集成及运维服务", "项", 1, 1),
        ),
        qualification="无特定资格要求",
        tag="it",
        wan=(100, 800),
        term="合同签订后180日内完成建设并通过验收，免费运维期2年",
        allow_province=True,
    ),
    "street_cleaning": _Goods(
        variants=(
            (
                "{place}城区道路清扫保洁服务采购项目",
                "负责城区主次干道约{service_area}平方米道路的机械化清扫、人工保洁、垃圾收运及冬季除冰雪作业，服务期一年。",
                "urban",
            ),
        ),
        items=(("道路清扫保洁服务", "年", 1, 1),),
        qualification="无特定资格要求",
        tag="service",
        wan=(100, 600),
        term="一年",
    ),
    "emergency_supplies": _Goods(
        variants=(
            ("{place}防汛应急物资采购项目", "采购{items}，物资须于汛前到库，满足防汛抢险储备要求。", "emergency"),
        ),
        items=(
            ("冲锋舟", "艘", 2, 6),
            ("救生衣", "件", 200, 800),
            ("移动排涝泵车", "台", 1, 3),
            ("运输及入库", "项", 1, 1),
        ),
        qualification="无特定资格要求",
        tag="goods",
        wan=(50, 300),
        term="合同签订后20日内交货",
    ),
    "office_equipment": _Goods(
        variants=(
            ("{org}办公设备采购项目", "采购{items}，产品须为国产正版、全新原装，提供3年上门保修服务。", "government"),
        ),
        items=(
            ("台式计算机", "台", 30, 120),
            ("激光打印机", "台", 10, 40),
            ("复印一体机", "台", 2, 6),
            ("运输安装", "项", 1, 1),
        ),
        qualification="无特定资格要求，本项目专门面向中小企业采购",
        tag="goods",
        wan=(50, 200),
        term="合同签订后15日内交货",
    ),
    "school_furniture": _Goods(
        variants=(
            (
                "{place}学校课桌椅采购项目",
                "为城乡中小学采购{items}，产品须符合GB/T 3976-2014《学校课桌椅功能尺寸及技术要求》。",
                "education",
            ),
        ),
        items=(("可升降单人课桌椅", "套", 800, 3000), ("教师讲台", "张", 20, 80), ("运输安装", "项", 1, 1)),
        qualification="无特定资格要求，本项目专门面向中小企业采购",
        tag="education",
        wan=(50, 300),
        term="合同签订后30日内交货并安装完毕",
    ),
    "official_vehicles": _Goods(
        variants=(
            (
                "{org}公务用车采购项目",
                "采购{items}，车辆须为新能源汽车，符合党政机关公务用车配备标准，整车质保不少于3年或10万公里。",
                "government",
            ),
        ),
        items=(("新能源公务轿车", "辆", 2, 6), ("上牌及交付服务", "项", 1, 1)),
        qualification="投标人须为所投车辆品牌的授权经销商",
        tag="goods",
        wan=(50, 200),
        term="合同签订后30日内交车",
    ),
    "planning_service": _Goods(
        variants=(
            (
                "{place}{year}年村庄规划编制服务项目",
                "完成{town}等乡镇约{villages}个行政村的实用性村庄规划编制，成果须符合省级村庄规划编制技术导则。",
                "land",
            ),
            (
                "{place}国土空间详细规划编制服务项目",
                "完成城区约{area_km}平方公里范围的国土空间详细规划编制及数据库建设，成果须通过省级审查。",
                "land",
            ),
        ),
        items=(("规划编制服务", "项", 1, 1),),
        qualification="投标人须具有城乡规划编制单位乙级及以上资质",
        tag="design",
        wan=(80, 400),
        term="合同签订后240日内提交经审查通过的成果",
    ),
    "road_design": _Goods(
        variants=(
            (
                "{place}{street}道路工程勘察设计服务项目",
                "完成{street}道路工程约{km}公里的初步勘察、详细勘察、初步设计及施工图设计，并提供施工期间的设计配合服务。",
                "housing",
            ),
        ),
        items=(("勘察设计服务", "项", 1, 1),),
        qualification="投标人须具有工程设计市政行业（道路工程）专业乙级及以上资质和工程勘察专业类（岩土工程）乙级及以上资质",
        tag="design",
        wan=(60, 300),
        term="合同签订后120日内提交施工图设计文件",
    ),
    "it_maintenance": _Goods(
        variants=(
            (
                "{org}信息系统运维服务项目",
                "对现有信息系统、服务器、网络及安全设备提供7×24小时运维保障，包括{items}，服务期两年。",
                "hospital",
            ),
        ),
        items=(("运维服务", "年", 2, 2),),
        qualification="无特定资格要求",
        tag="it",
        wan=(50, 200),
        term="两年",
        allow_province=True,
    ),
    "single_source": _Goods(
        variants=(
            (
                "{org}信息系统升级改造项目（单一来源）",
                "对原有信息系统进行升级改造，因需与原系统保持一致性和服务配套要求，只能从原供应商处采购。",
                "hospital",
            ),
            (
                "{org}进口医疗设备维保服务项目",
                "对在用进口医疗设备提供原厂维保服务，设备核心部件及软件只能由原厂提供，只能从唯一供应商处采购。",
                "hospital",
            ),
            (
                "{place}智慧教育云平台升级服务项目",
                "对已建智慧教育云平台进行功能升级，平台源代码及知识产权归原供应商所有，只能从原供应商处采购。",
                "education",
            ),
        ),
        items=(("升级及维保服务", "项", 1, 1),),
        qualification="拟定供应商须为原系统（设备）的开发商或原厂授权服务商，具备履行合同所必需的专业技术能力",
        tag="it",
        wan=(50, 400),
        term="一年",
        allow_province=True,
    ),
}

#: land use -> (tenure years, least plot ratio min, most plot ratio max, starting price range 万元, 元/㎡ of land)
_LAND_USES: dict[str, tuple[int, float, float, tuple[int, int], tuple[int, int]]] = {
    "城镇住宅用地": (70, 1.0, 2.5, (3000, 50000), (1800, 9000)),
    "商服用地": (40, 1.0, 2.5, (2000, 20000), (1500, 7000)),
    "工业用地": (50, 1.0, 2.0, (2000, 5000), (300, 600)),
}

_NEW_ROADS = ("滨河路", "工业大道", "站前路", "学府路", "科技路", "迎宾大道", "纬三路", "经五路", "创业路", "金融路")
_DIRECTIONS = ("城北", "城南", "城东", "城西", "滨江", "高新区")
_NTH = ("二", "三", "五", "六", "七")

#: Where the first project of a subject is placed, so the well-known tenderers always appear
#: (常德市交通运输局, 澧县自来水公司, 湖南省人民医院).
_FIXED_PLACES = {"road_rural": "430700", "water": "430723", "medical_equipment": "430000", "hospital": "430000"}

#: procedure, subject, how many
_PLAN: tuple[tuple[str, str, int], ...] = (
    ("works_open_tender", "road_urban", 7),
    ("works_open_tender", "road_rural", 7),
    ("works_open_tender", "road_new", 2),
    ("works_open_tender", "bridge", 4),
    ("works_open_tender", "school_new", 5),
    ("works_open_tender", "school_expand", 3),
    ("works_open_tender", "hospital", 3),
    ("works_open_tender", "water", 5),
    ("works_open_tender", "sewage", 3),
    ("works_open_tender", "river", 4),
    ("works_open_tender", "housing", 3),
    ("gp_open_tender", "medical_equipment", 4),
    ("gp_open_tender", "teaching_equipment", 3),
    ("gp_open_tender", "property_service", 3),
    ("gp_open_tender", "information_system", 4),
    ("gp_competitive_negotiation", "street_cleaning", 2),
    ("gp_competitive_negotiation", "emergency_supplies", 2),
    ("gp_request_for_quotation", "office_equipment", 2),
    ("gp_request_for_quotation", "school_furniture", 1),
    ("gp_request_for_quotation", "official_vehicles", 1),
    ("gp_competitive_consultation", "planning_service", 2),
    ("gp_competitive_consultation", "road_design", 1),
    ("gp_competitive_consultation", "it_maintenance", 1),
    ("gp_single_source", "single_source", 3),
    ("land_listing", "城镇住宅用地", 5),
    ("land_listing", "商服用地", 3),
    ("land_listing", "工业用地", 2),
    ("land_auction", "城镇住宅用地", 3),
    ("land_auction", "商服用地", 1),
    ("land_tender", "工业用地", 2),
    ("land_tender", "城镇住宅用地", 1),
    ("property_transfer", "equity", 3),
    ("property_transfer", "vehicles", 3),
    ("property_transfer", "lease", 2),
)

_TRADE_KIND = {
    "works_open_tender": "works",
    "gp_open_tender": "procurement",
    "gp_competitive_negotiation": "procurement",
    "gp_request_for_quotation": "procurement",
    "gp_competitive_consultation": "procurement",
    "gp_single_source": "procurement",
    "land_tender": "land",
    "land_auction": "land",
    "land_listing": "land",
    "property_transfer": "property",
}
_OPENING_KIND = {
    "works": "tender",
    "procurement": "procurement",
    "land": "land_transfer",
    "property": "property_transfer",
}
#: the timetable event each procedure treats as its deadline (as trading.rules.procedures does)
DEADLINE_EVENT = {
    "works_open_tender": "bid_deadline",
    "gp_open_tender": "bid_deadline",
    "gp_competitive_negotiation": "bid_deadline",
    "gp_request_for_quotation": "bid_deadline",
    "gp_competitive_consultation": "bid_deadline",
    "gp_single_source": "notice_period_end",
    "land_tender": "bid_deadline",
    "land_auction": "auction_start",
    "land_listing": "listing_end",
    "property_transfer": "disclosure_end",
}
#: Days from the land's delivery within which the buyer must finish building (the land notice says so; a land
#: tender's bids offer it as their period).
LAND_BUILD_DAYS = 1_095
#: The expert specialities each works subject's evaluation panel is drawn from (trading.demo.evaluated keeps the
#: pool); a procurement's panel comes from the procurement experts, a land tender's from the land experts.
_WORKS_SPECIALITIES = {
    "road_urban": ("道路",),
    "road_rural": ("道路",),
    "road_new": ("道路",),
    "bridge": ("桥梁", "道路"),
    "water": ("市政",),
    "sewage": ("市政",),
    "river": ("水利",),
    "school_new": ("房屋建筑",),
    "school_expand": ("房屋建筑",),
    "hospital": ("房屋建筑",),
    "housing": ("房屋建筑",),
}
SPECIALITIES = {"procurement": ("政府采购",), "land": ("土地",)}


def _specialities(d: _Draft) -> tuple[str, ...]:
    if d.trade_kind == "works":
        return _WORKS_SPECIALITIES[d.subject]
    return SPECIALITIES.get(d.trade_kind, ())


#: sealed-bid procedures whose notices sell documents and open the bids at the deadline
_SEALED_TENDERS = ("works_open_tender", "gp_open_tender", "land_tender")
_SEALED = (*_SEALED_TENDERS, "gp_competitive_negotiation", "gp_request_for_quotation", "gp_competitive_consultation")
_METHODS = {
    "works_open_tender": "公开招标",
    "gp_open_tender": "公开招标",
    "gp_competitive_negotiation": "竞争性谈判",
    "gp_request_for_quotation": "询价",
    "gp_competitive_consultation": "竞争性磋商",
    "gp_single_source": "单一来源",
    "land_tender": "招标",
    "land_auction": "拍卖",
    "land_listing": "挂牌",
    "property_transfer": "公开挂牌",
}
#: days from the notice to the deadline event (before rolling onto a working day)
_LEADS = {
    "works_open_tender": (28, 40),
    "gp_open_tender": (28, 38),
    "land_tender": (28, 38),
    "gp_competitive_negotiation": (12, 18),
    "gp_request_for_quotation": (12, 16),
    "gp_competitive_consultation": (16, 24),
    "gp_single_source": (16, 20),
    "land_auction": (28, 36),
    "land_listing": (26, 32),
    "property_transfer": (38, 45),
}

#: how many projects are at each stage; the rest are finished ("done")
_STAGES = (
    ("draft", 8),
    ("upcoming", 16),
    ("upcoming_amended", 6),
    ("evaluating", 8),
    ("failed", 5),
    ("terminated", 3),
    ("done_amended", 5),
)
#: where the deadline falls, in days from today, for each stage
_WINDOWS = {
    "upcoming": (1, 30),
    "upcoming_amended": (2, 14),
    "evaluating": (-12, -1),
    "failed": (-150, -3),
    "terminated": (-90, -5),
    "done": (-240, -30),
    "done_amended": (-200, -40),
}


# --- the calendar -----------------------------------------------------------------------------------

#: 春节 (Chinese New Year's Day) for the years the official seed does not cover
_LUNAR_NEW_YEAR = {
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
    2032: date(2032, 2, 11),
    2033: date(2033, 1, 31),
    2034: date(2034, 2, 19),
    2035: date(2035, 2, 8),
}
_ONE_DAY = timedelta(days=1)
#: The years the demo can be set in.
DEMO_YEARS = range(min(_LUNAR_NEW_YEAR), max(_LUNAR_NEW_YEAR) + 1)
#: The suffix on the name of every estimated calendar row, so that nobody mistakes one for the official one.
ESTIMATED = "（演示估算）"


def estimated_days_off(year: int) -> tuple[tuple[date, str, str], ...]:
    """The demo's estimate of *year*'s official days off, for a year whose State Council arrangement the
    platform does not hold: 元旦, the 春节 week around the lunar new year, 清明, 劳动节 and 国庆, with no
    make-up working days. Rows as the calendar table takes them: (date, "holiday", name)."""

    def block(first: date, days: int, name: str) -> list[tuple[date, str, str]]:
        return [(first + timedelta(days=i), HOLIDAY, name + ESTIMATED) for i in range(days)]

    rows = block(date(year, 1, 1), 1, "元旦")
    new_year = _LUNAR_NEW_YEAR.get(year)
    if new_year is not None:
        rows += block(new_year - 2 * _ONE_DAY, 10, "春节")
    rows += block(date(year, 4, 4), 3, "清明节") + block(date(year, 5, 1), 5, "劳动节")
    rows += block(date(year, 10, 1), 8, "国庆节")
    return tuple(sorted(rows))


def demo_calendar() -> WorkCalendar:
    """The calendar the demo world is planned on: the official rows where the platform has them, the
    demo's estimates for the other years it can be set in."""
    official = seed_calendar()
    estimated = [d for y in DEMO_YEARS if y not in official.years for d, _kind, _name in estimated_days_off(y)]
    return WorkCalendar([*official.holidays, *estimated], official.workdays, years=set(DEMO_YEARS) | official.years)


_CALENDAR = demo_calendar()


def _is_workday(day: date) -> bool:
    """A working day, with the demo's margin: never a weekend, even a make-up working day (调休上班)."""
    return day.weekday() < 5 and _CALENDAR.is_working_day(day)


def _workday_on_or_after(day: date) -> date:
    while not _is_workday(day):
        day += _ONE_DAY
    return day


def _workday_on_or_before(day: date) -> date:
    while not _is_workday(day):
        day -= _ONE_DAY
    return day


def _add_workdays(day: date, n: int) -> date:
    for _ in range(n):
        day = _workday_on_or_after(day + _ONE_DAY)
    return day


def _days(n: int) -> timedelta:
    return timedelta(days=n)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` Beijing time, as an aware UTC datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=CST).astimezone(UTC)


def _day(moment: datetime) -> date:
    return moment.astimezone(CST).date()


def _iso(moment: datetime) -> str:
    return moment.astimezone(CST).isoformat()


def _cn_time(moment: datetime) -> str:
    t = moment.astimezone(CST)
    return f"{t.year}年{t.month:02d}月{t.day:02d}日{t.hour:02d}时{t.minute:02d}分"


def _cn_date(moment: datetime) -> str:
    t = moment.astimezone(CST)
    return f"{t.year}年{t.month:02d}月{t.day:02d}日"


# --- small helpers ----------------------------------------------------------------------------------


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}元"


def _wan(fen: int) -> str:
    hundredths = (fen + 5_000) // 10_000
    return f"{hundredths // 100}.{hundredths % 100:02d}万元"


def _person_name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def _phone(rng: random.Random, region: str) -> str:
    area = _AREA_CODES.get(_city_code(region), "0731")
    if area == "0731":
        return f"0731-{rng.randint(82_000_000, 88_999_999)}"
    return f"{area}-{rng.randint(2_100_000, 8_899_999)}"


def _split(rng: random.Random, total: int, parts: int, unit: int) -> list[int]:
    """``total`` in ``parts`` shares that are multiples of ``unit`` (the last takes the remainder)."""
    weights = [rng.randint(3, 7) for _ in range(parts)]
    shares = [total * w // sum(weights) // unit * unit for w in weights[:-1]]
    return [*shares, total - sum(shares)]


def _label(code: str, trade_kind: str, count: int) -> str:
    """``（第二标段）`` or ``（第2包）`` when a project has several sections, else nothing."""
    if count < 2:
        return ""
    n = int(code)
    return f"（第{n}包）" if trade_kind == "procurement" else f"（第{_CN_NUMBERS[n - 1]}标段）"


def _level_name(place: _Place) -> str:
    level = _level(place)
    if level == "province":
        return "省级"
    if level == "city":
        return "市级"
    if level == "district":
        return "区级"
    return "县级" if place.name.endswith("县") else "市级"


def _stake(metres: int, prefix: str = "K") -> str:
    """A chainage (里程桩号): 5300 m -> ``K5+300``."""
    return f"{prefix}{metres // 1000}+{metres % 1000:03d}"


class _OrgDraft(NamedTuple):
    spec: OrgSpec
    kinds: list[str]


@dataclass
class _Event:
    """One notice in a project's life, before its text is written."""

    at: datetime
    kind: str
    action: str = "publish"
    section: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Draft:
    """A project being built: the choices made for it, then its events, then its texts."""

    index: int
    procedure: str
    subject: str
    stage: str
    rng: random.Random
    place: _Place = _PROVINCE
    region: str = ""
    centre: str = ""
    name: str = ""
    tenderer: str = ""
    agent: str | None = None
    description: str = ""
    budget: int | None = None
    control: int | None = None
    funding: list[tuple[str, str, int]] = field(default_factory=list)
    sections: list[SectionSpec] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    events: list[_Event] = field(default_factory=list)
    trade_code: str = ""
    #: a place chosen in advance (see _FIXED_PLACES)
    fixed_place: str | None = None

    @property
    def trade_kind(self) -> str:
        return _TRADE_KIND[self.procedure]

    @property
    def year(self) -> int:
        return self.events[0].at.astimezone(CST).year


def build_world(today: date, seed: int = 2026) -> DemoWorld:
    """The demo world for ``today``: the same ``(today, seed)`` always gives an identical world."""
    return _WorldBuilder(today, seed).build()


def demo_people(seed: int = 2026) -> tuple[PersonSpec, ...]:
    """The demo's accounts, which are the same whatever the day (only the trades follow the date)."""
    builder = _WorldBuilder(None, seed)
    return builder.accounts()


class _WorldBuilder:
    def __init__(self, today: date | None, seed: int) -> None:
        self.seed = seed
        self.orgs: dict[str, _OrgDraft] = {}
        self.codes: set[str] = set()
        self.evaluators: list[str] = []
        self.parcels: set[str] = set()
        for firm in _AGENTS:
            self._org(firm.key, firm.name, "agent", firm.region, "91")
        for firm in _BIDDERS:
            self._org(firm.key, firm.name, "bidder", firm.region, "91")
        if today is not None:
            self.today = today
            self.now = _at(today, 9, 0)

    def rng(self, *parts: object) -> random.Random:
        # A string seed is hashed with SHA-512, so every stream is stable across runs and platforms.
        return random.Random(":".join(str(p) for p in (self.seed, *parts)))

    def build(self) -> DemoWorld:
        people = self.accounts()
        drafts = self._plan()
        projects = tuple(self._render(d) for d in drafts)
        order = ("tenderer", "transferor", "agent", "bidder")
        organisations = tuple(
            msgspec.structs.replace(o.spec, kinds=tuple(k for k in order if k in o.kinds)) for o in self.orgs.values()
        )
        centres = tuple(CentreSpec(code=c, name=n, region_code=r) for c, n, r, _area in _CENTRES)
        return DemoWorld(
            today=self.today, centres=centres, organisations=organisations, people=people, projects=projects
        )

    # --- organisations and people ---------------------------------------------------------------

    def _org(self, key: str, name: str, kind: str, region: str, registration: str) -> str:
        """Register an organisation once (adding ``kind`` if it is already known) and return its key."""
        known = self.orgs.get(key)
        if known is not None:
            if kind not in known.kinds:
                known.kinds.append(kind)
            return key
        rng = self.rng("org", key)
        while True:
            body = f"{rng.randint(0, 99_999_999):08d}"
            code = make_credit_code(registration[0], registration[1], region, body)
            if code not in self.codes:
                break
        self.codes.add(code)
        spec = OrgSpec(
            key=key,
            name=name,
            credit_code=code,
            kinds=(kind,),
            region_code=region,
            address=self._address(rng, region),
            contact_name=_person_name(rng),
            contact_phone=_phone(rng, region),
        )
        self.orgs[key] = _OrgDraft(spec, [kind])
        return key

    @staticmethod
    def _address(rng: random.Random, region: str) -> str:
        place = _BY_CODE.get(region)
        city = _BY_CODE[_city_code(region)] if region != "430000" else _BY_CODE["430100"]
        if place is None:
            prefix = city.name + REGIONS[region].name
            streets = city.streets
        elif _level(place) == "province":
            prefix, streets = "长沙市", place.streets
        elif _level(place) == "city":
            prefix, streets = place.name, place.streets
        else:
            prefix, streets = city.name + place.name, place.streets
        return f"{prefix}{rng.choice(streets)}{rng.randint(1, 398)}号"

    def org(self, key: str) -> OrgSpec:
        return self.orgs[key].spec

    def _tenderer(self, place: _Place, dept: str, kind: str) -> str:
        registration = _DEPTS[dept][3]
        return self._org(f"{place.code}-{dept}", _dept_name(place, dept), kind, place.code, registration)

    def _agent(self, rng: random.Random, place: _Place) -> str:
        city = "430100" if place.code == "430000" else _city_code(place.code)
        local = [a.key for a in _AGENTS if _city_code(a.region) == city]
        return rng.choice(local or [a.key for a in _AGENTS])

    def accounts(self) -> tuple[PersonSpec, ...]:
        rng = self.rng("people")
        people = [
            PersonSpec(username="admin", display_name="平台管理员", roles=("admin",), password=PASSWORDS["admin"])
        ]
        for code, _name, _region, _area in _CENTRES:
            for i in (1, 2):
                people.append(
                    PersonSpec(
                        username=f"{code.lower()}_staff{i}",
                        display_name=_person_name(rng),
                        roles=("staff",),
                        centre_code=code,
                        password=PASSWORDS["staff"],
                    )
                )
            people.append(
                PersonSpec(
                    username=f"{code.lower()}_supervisor",
                    display_name=_person_name(rng),
                    roles=("supervisor",),
                    centre_code=code,
                    password=PASSWORDS["supervisor"],
                )
            )
        for i in (1, 2, 3):
            people.append(
                PersonSpec(
                    username=f"opener{i}",
                    display_name=_person_name(rng),
                    roles=("opener",),
                    password=PASSWORDS["opener"],
                )
            )
        for i in range(1, 6):
            name = _person_name(rng)
            self.evaluators.append(name)
            people.append(
                PersonSpec(
                    username=f"expert{i}", display_name=name, roles=("evaluator",), password=PASSWORDS["evaluator"]
                )
            )
        for key in _BIDDER_LOGINS:
            people.append(
                PersonSpec(
                    username="bidder_" + key.replace("-", "_"),
                    display_name=self.org(key).contact_name,
                    roles=("bidder",),
                    org_key=key,
                    password=PASSWORDS["bidder"],
                )
            )
        # The province's expert pool is kept by named keepers, not by a centre's staff.
        people.append(
            PersonSpec(
                username="expert_keeper",
                display_name=_person_name(rng),
                roles=("expert_keeper",),
                password=PASSWORDS["expert_keeper"],
            )
        )
        return tuple(people)

    # --- planning ---------------------------------------------------------------------------------

    def _plan(self) -> list[_Draft]:
        entries = [(procedure, subject) for procedure, subject, n in _PLAN for _ in range(n)]
        stages = [stage for stage, n in _STAGES for _ in range(n)]
        stages += ["done"] * (len(entries) - len(stages))
        self.rng("stages").shuffle(stages)
        # 流标 is a sealed-bid outcome (and 流拍 a land one): give the other trades' failures to finished tenders.
        for i, (procedure, _subject) in enumerate(entries):
            if stages[i] == "failed" and procedure not in _SEALED and _TRADE_KIND[procedure] != "land":
                j = next(j for j, (p, _s) in enumerate(entries) if stages[j] == "done" and p in _SEALED_TENDERS)
                stages[i], stages[j] = stages[j], stages[i]
        drafts: list[_Draft] = []
        for index, ((procedure, subject), stage) in enumerate(zip(entries, stages, strict=True)):
            d = _Draft(index=index, procedure=procedure, subject=subject, stage=stage, rng=self.rng("project", index))
            if all(other.subject != subject for other in drafts):
                d.fixed_place = _FIXED_PLACES.get(subject)
            planner = {
                "works": self._plan_works,
                "procurement": self._plan_goods,
                "land": self._plan_land,
                "property": self._plan_property,
            }[d.trade_kind]
            planner(d)
            d.region = d.region or d.place.code
            d.centre = d.centre or ("HN" if d.place.code == "430000" else _CITY_CENTRE[_city_code(d.place.code)])
            self._schedule(d)
            self._name(d)
            drafts.append(d)
        self._unique_names(drafts)
        self._trade_codes(drafts)
        return drafts

    @staticmethod
    def _pick_place(d: _Draft, province: bool = False) -> _Place:
        chosen = d.rng.choices(_PLACES, weights=[p.weight for p in _PLACES])[0]
        if d.fixed_place:
            return _BY_CODE[d.fixed_place]
        return _PROVINCE if province else chosen

    @staticmethod
    def _values(rng: random.Random, place: _Place, wan: int, per_km: int) -> dict[str, Any]:
        """Numbers and names a subject's templates may use, all drawn every time so draws stay aligned."""
        towns = list(place.towns) if len(place.towns) > 1 else [*place.towns, "城郊"]
        streets = list(place.streets)
        rng.shuffle(towns)
        rng.shuffle(streets)
        area = wan * 10_000 // rng.randint(3_000, 4_200)
        return {
            "place": place.name,
            "town": towns[0],
            "town2": towns[1],
            "street": streets[0],
            "street2": streets[1],
            "street3": streets[2] if len(streets) > 2 else streets[0],
            "river": rng.choice(place.rivers),
            "new_road": rng.choice(_NEW_ROADS),
            "direction": rng.choice(_DIRECTIONS),
            "nth": rng.choice(_NTH),
            "km": f"{max(5, wan * 10 // per_km) / 10:.1f}",
            "width": rng.choice((16, 20, 24, 30, 36, 40)),
            "width_rural": rng.choice((4.5, 5.5, 6.5, 7.5)),
            "bridge_m": rng.randint(6, 48) * 10,
            "bridge_w": rng.choice((8.5, 12, 16, 24.5)),
            "approach": rng.randint(2, 12) * 50,
            "bridges": rng.randint(3, 12),
            "area": area,
            "classes": max(12, area // 600 // 6 * 6),
            "seats": max(300, area // 12 // 50 * 50),
            "floors": rng.randint(8, 22),
            "beds": max(100, area // 95 // 10 * 10),
            "capacity": rng.choice((2, 3, 4, 5, 6, 8, 10)),
            "small_capacity": rng.randint(4, 30) * 100,
            "towns": rng.randint(3, 8),
            "pipe": rng.randint(8, 90),
            "pumps": rng.randint(1, 5),
            "people": rng.randint(3, 15),
            "units": max(120, area // 70 // 10 * 10),
            "estates": rng.randint(4, 18),
            "service_area": rng.randint(20, 180) * 1_000,
            "villages": rng.randint(12, 60),
            "area_km": rng.randint(8, 40),
        }

    def _plan_works(self, d: _Draft) -> None:
        spec, rng = _WORKS[d.subject], d.rng
        name_t, scale_t, dept = rng.choice(spec.variants)
        d.place = self._pick_place(d, province=dept == "hospital" and rng.random() < 0.34)
        d.tenderer = self._tenderer(d.place, dept, "tenderer")
        d.agent = self._agent(rng, d.place) if rng.random() < 0.9 else None
        wan = rng.randint(*spec.wan)
        per_km = {"road_urban": 1_000, "road_rural": 120, "road_new": 2_500, "river": 500}.get(d.subject, 800)
        values = self._values(rng, d.place, wan, per_km)
        d.control = wan * 1_000_000 + rng.randint(0, 999_999)
        d.budget = (d.control * 100 // rng.randint(86, 95) + 999_999) // 1_000_000 * 1_000_000
        parts = _split(rng, d.budget, len(spec.funding), 1_000_000)
        d.funding = [(kind, desc, amount) for (kind, desc), amount in zip(spec.funding, parts, strict=True)]
        d.sections = self._works_sections(rng, spec.split, d.subject, d.control, float(values["km"]))
        d.facts = {
            "name_t": name_t,
            "scale_t": scale_t,
            "values": values,
            "days": rng.randrange(spec.days[0], spec.days[1] + 1, 30),
            "consortium": rng.random() < 0.3,
            "approval_no": rng.randint(8, 160),
            "method": rng.choice(("经评审的最低投标价法", "综合评估法", "合理低价法")),
        }

    @staticmethod
    def _works_sections(rng: random.Random, split: str, subject: str, control: int, km: float) -> list[SectionSpec]:
        count = 1 if split == "single" or control < 2_000_000_000 else 2 if control < 5_000_000_000 else 3
        if count == 1:
            return [SectionSpec(code="01", name="施工标段（全部招标范围）", estimated_price_fen=control)]
        prices = _split(rng, control, count, 100)
        if split == "stations" or subject == "river":
            total = int(km * 1000)
            ends = [*(total * (i + 1) // count // 10 * 10 for i in range(count - 1)), total]
            starts = [0, *ends[:-1]]
            prefix = "K" if split == "stations" else "桩号"
            names = [f"{_stake(a, prefix)}～{_stake(b, prefix)}" for a, b in zip(starts, ends, strict=True)]
        else:
            names = ["厂区及构筑物工程", "管网工程", "泵站及附属工程"][:count]
        return [
            SectionSpec(code=f"{i + 1:02d}", name=f"第{_CN_NUMBERS[i]}标段：{n}", estimated_price_fen=p)
            for i, (n, p) in enumerate(zip(names, prices, strict=True))
        ]

    def _plan_goods(self, d: _Draft) -> None:
        spec, rng = _GOODS[d.subject], d.rng
        name_t, req_t, dept = rng.choice(spec.variants)
        d.place = self._pick_place(d, province=spec.allow_province and dept == "hospital" and rng.random() < 0.3)
        d.tenderer = self._tenderer(d.place, dept, "tenderer")
        d.agent = self._agent(rng, d.place) if rng.random() < 0.85 else None
        d.budget = rng.randint(spec.wan[0] * 10, spec.wan[1] * 10) * 100_000
        d.control = d.budget if rng.random() < 0.6 else d.budget * 95 // 100 // 100_000 * 100_000
        *goods, lump = spec.items
        chosen = rng.sample(goods, min(len(goods), rng.randint(2, 3))) if goods else []
        items = [(n, u, rng.randint(lo, hi)) for n, u, lo, hi in (*chosen, lump)]
        if d.subject == "medical_equipment" and d.budget >= 3_000_000_00 and len(items) >= 3:
            prices = _split(rng, d.control, 2, 100_000)
            half = (len(items) - 1) // 2
            groups = [[*items[:half], items[-1]], items[half:]]
            d.sections = [
                SectionSpec(code=f"{i + 1:02d}", name=f"第{i + 1}包：{group[0][0]}等", estimated_price_fen=p)
                for i, (group, p) in enumerate(zip(groups, prices, strict=True))
            ]
            by_section = {s.code: g for s, g in zip(d.sections, groups, strict=True)}
        else:
            d.sections = [SectionSpec(code="01", name="全部采购内容", estimated_price_fen=d.control)]
            by_section = {"01": items}
        if dept in ("hospital", "tcm") and rng.random() < 0.5:
            own = d.budget * rng.randint(2, 5) // 10 // 100_000 * 100_000
            d.funding = [("fiscal", "{level}财政资金", d.budget - own), ("self_raised", "单位自有资金", own)]
        else:
            d.funding = [("fiscal", "{level}财政资金", d.budget)]
        values = self._values(rng, d.place, d.budget // 1_000_000, 800)
        d.facts = {
            "name_t": name_t,
            "req_t": req_t,
            "values": values,
            "items": by_section,
            "document_price": rng.choice((0, 0, 0, 20_000, 30_000)),
            "consortium": rng.random() < 0.2,
            "term": spec.term,
            "qualification": spec.qualification,
            "tag": spec.tag,
            "supplier": rng.choice(self._pool(spec.tag)),
            "small_business": "专门面向中小企业采购" if d.budget < 4_000_000_00 else "不专门面向中小企业采购",
        }

    @staticmethod
    def _pool(tag: str) -> list[str]:
        return [f.key for f in _BIDDERS if tag in f.tags]

    def _plan_land(self, d: _Draft) -> None:
        rng = d.rng
        tenure, ratio_low, ratio_high, price_range, unit_range = _LAND_USES[d.subject]
        d.place = self._pick_place(d)
        d.tenderer = self._tenderer(d.place, "land", "transferor")
        high = price_range[1] if _level(d.place) in ("city", "district") else price_range[1] // 3
        start = rng.randint(price_range[0] // 10, max(price_range[0], high) // 10) * 10 * 1_000_000
        unit = rng.randint(*unit_range)
        area_hundredths = start // unit
        if start < 100_000_000_00:  # under 1亿元: 10万 or 20万元 a step
            increment = rng.choice((10_000_000, 20_000_000))
        elif start < 300_000_000_00:
            increment = 50_000_000
        else:
            increment = 100_000_000
        streets = list(d.place.streets)
        rng.shuffle(streets)
        sides = rng.sample("东南西北", 2)
        town = rng.choice(d.place.towns)
        d.sections = [SectionSpec(code="01", name="宗地")]  # renamed once the parcel number (with its year) is known
        d.facts = {
            "use": d.subject,
            "tenure": tenure,
            "area": area_hundredths / 100,
            "ratio_min": ratio_low if d.subject != "城镇住宅用地" else rng.choice((1.0, 1.2)),
            "ratio_max": rng.randint(int(ratio_low * 10) + 8, int(ratio_high * 10)) / 10,
            "density": rng.choice((25, 30, 35, 40)) if d.subject != "工业用地" else rng.choice((40, 45, 50)),
            "green": rng.choice((30, 35)) if d.subject != "工业用地" else rng.choice((10, 15, 20)),
            "start": start,
            "increment": increment,
            "deposit": start * rng.choice((20, 30, 50)) // 100 // 10_000_000 * 10_000_000,
            "reserve": rng.random() < 0.5,
            "serial": rng.randint(1, 45),
            "location": f"{_org_prefix(d.place)}{town}，{streets[0]}以{sides[0]}、{streets[1]}以{sides[1]}",
        }

    def _plan_property(self, d: _Draft) -> None:
        rng = d.rng
        seller = _PROPERTY_SELLERS[d.index % len(_PROPERTY_SELLERS)]
        d.tenderer = self._org(seller.key, seller.name, "transferor", seller.region, "91")
        d.region, d.centre = seller.region, seller.centre
        d.place = _BY_CODE.get(seller.region) or _BY_CODE[_city_code(seller.region)]
        if d.subject == "equity":
            share = rng.choice((20, 30, 35, 40, 51, 100))
            price = rng.randint(300, 6_000) * 1_000_000
            lot = f"{seller.subsidiary}{share}%股权"
            name = f"{seller.name}所持{lot}转让"
            detail = (
                f"{seller.subsidiary}成立于{rng.randint(2005, 2018)}年，注册资本{rng.randint(5, 60) * 100}万元，"
                f"转让方持有其{share}%股权。经审计，标的企业上一年度营业收入{rng.randint(800, 9_000)}万元，"
                f"评估基准日净资产评估值{_wan(price * 100 // share * rng.randint(90, 110) // 100)}。"
            )
            term = "自产权交易合同生效之日起至股权变更登记完成之日止"
        elif d.subject == "vehicles":
            count = rng.randint(5, 20)
            price = rng.randint(8, 80) * 10_000_00
            lot = f"公务车辆{count}台（含轿车、越野车、商务车）"
            name = f"{seller.name}{count}台公务车辆转让"
            detail = (
                f"本次转让车辆共{count}台，为公务用车制度改革后封存的车辆，车龄{rng.randint(6, 12)}年至"
                f"{rng.randint(13, 16)}年不等，车辆手续齐全，按现状整体打包转让，车辆清单详见附件。"
            )
            term = "自产权交易合同生效之日起15日内完成车辆交付及过户"
        else:
            area = rng.randint(80, 600)
            years = rng.randint(3, 5)
            price = rng.randint(6, 60) * 10_000_00
            lot = f"{seller.street}门面房（建筑面积{area}平方米）{years}年租赁权"
            name = f"{seller.name}{seller.street}门面房租赁权招租"
            detail = (
                f"招租标的位于{seller.street}{rng.randint(1, 300)}号，为临街门面房，建筑面积{area}平方米，"
                f"租赁期限{years}年，挂牌价为首年租金，第三年起租金每年递增3%，不得用于餐饮及娱乐经营。"
            )
            term = f"{years}年"
        d.facts = {
            "lot": lot,
            "name": name,
            "detail": detail,
            "term": term,
            "price": price,
            "deposit": price * rng.randint(10, 30) // 100 // 100_000 * 100_000,
            "increment": max(100_000, price * rng.randint(1, 3) // 100 // 100_000 * 100_000),
            "regulator": seller.regulator,
            "approval_no": rng.randint(5, 80),
        }
        d.sections = [SectionSpec(code="01", name=lot[:60])]

    # --- the timeline ---------------------------------------------------------------------------

    def _timetable(
        self, procedure: str, at: datetime, lead: int, extra: int, slot: tuple[int, int]
    ) -> dict[str, datetime]:
        """The opening notice's timetable for a notice published ``at``.

        Every period is at least ``lead`` calendar days and also a few working days more than the law's
        working-day minimum, so that a long holiday (春节, 国庆) inside it never makes it unlawful.
        """
        day = _day(at)

        def after(days: int, workdays: int) -> date:
            return _workday_on_or_after(max(day + _days(days), _add_workdays(day, workdays)))

        if procedure in _SEALED_TENDERS:
            # Documents on sale for 15+ days (5 working days for procurement), closing well before the deadline.
            sale_end = after(15 + extra % 3, 7)
            closes = _at(_workday_on_or_after(max(day + _days(lead), sale_end + _days(3))), *slot)
            table = {
                "documents_issued": at,
                "documents_sale_start": at,
                "documents_sale_end": _at(sale_end, 17, 30),
                "bid_deadline": closes,
                "opening": closes,
            }
            if procedure == "gp_open_tender":
                table["notice_period_end"] = _at(sale_end, 17, 30)
            return table
        if procedure in _SEALED:
            closes = _at(after(lead, 6), *slot)
            return {"documents_issued": at, "bid_deadline": closes, "opening": closes}
        if procedure == "gp_single_source":
            return {"notice_period_end": _at(after(lead, 8), 17, 30)}
        if procedure == "land_auction":
            return {"documents_issued": at, "auction_start": _at(after(lead, 0), *slot)}
        if procedure == "land_listing":
            start = after(lead, 0)
            end = _workday_on_or_after(max(start + _days(26 + extra % 5), _add_workdays(start, 13)))
            return {"documents_issued": at, "listing_start": _at(start, 9, 0), "listing_end": _at(end, *slot)}
        ends = after(lead, 23)
        auction = _workday_on_or_after(ends + _days(3 + extra % 4))
        return {"disclosure_end": _at(ends, *slot), "auction_start": _at(auction, 9, 30)}

    def _schedule(self, d: _Draft) -> None:
        rng = d.rng
        lead = rng.randint(*_LEADS[d.procedure])
        extra = rng.randint(0, 11)
        slot = rng.choice(((9, 0), (9, 30)))
        hour, minute = rng.randint(9, 16), rng.choice((0, 10, 15, 20, 30, 40, 45, 50))
        opening = _OPENING_KIND[d.trade_kind]
        if d.stage == "draft":
            at = _at(_workday_on_or_before(self.today - _ONE_DAY), rng.randint(15, 17), minute)
            d.events.append(
                _Event(
                    at, opening, action="draft", data={"timetable": self._timetable(d.procedure, at, lead, extra, slot)}
                )
            )
            return
        at, table = self._within_window(d, lead, extra, slot, hour, minute)
        d.events.append(_Event(at, opening, data={"timetable": table}))
        deadline = table[DEADLINE_EVENT[d.procedure]]
        if d.stage.endswith("_amended"):
            deadline = self._amend(d, at, deadline)
        if d.stage == "terminated" or (d.stage == "failed" and d.procedure == "gp_single_source"):
            self._terminate(d, at, deadline)
        elif d.stage == "failed":
            self._fail(d, deadline)
        elif d.stage in ("evaluating", "done", "done_amended"):
            self._aftermath(d, deadline, table)
        d.events = [e for e in d.events if e.at <= self.now]

    def _within_window(
        self, d: _Draft, lead: int, extra: int, slot: tuple[int, int], hour: int, minute: int
    ) -> tuple[datetime, dict[str, datetime]]:
        """Publish the opening notice on the working day that puts the deadline inside the stage's window."""
        low, high = _WINDOWS[d.stage]
        event = DEADLINE_EVENT[d.procedure]
        latest = _workday_on_or_before(self.today - _ONE_DAY)
        probe = self._timetable(d.procedure, _at(self.today, 10), lead, extra, slot)
        span = (_day(probe[event]) - self.today).days
        target = self.today + _days(d.rng.randint(low, high))
        day = min(_workday_on_or_before(target - _days(span)), latest)
        for _ in range(60):
            at = _at(day, hour, minute)
            table = self._timetable(d.procedure, at, lead, extra, slot)
            offset = (_day(table[event]) - self.today).days
            if offset < low and day < latest:
                day = _workday_on_or_after(day + _ONE_DAY)
            elif offset > high:
                day = _workday_on_or_before(day - _ONE_DAY)
            else:
                break
        return at, table

    def _amend(self, d: _Draft, at: datetime, deadline: datetime) -> datetime:
        """Add an amendment; returns the deadline in force after it."""
        rng = d.rng
        first = _day(at) + _days(3)
        last = min(self.today - _ONE_DAY, _day(deadline) - _days(2))
        if first > last:
            return deadline
        day = _workday_on_or_before(first + _days(rng.randint(0, (last - first).days)))
        if day < first:
            day = _workday_on_or_after(first)
            if day > last:
                return deadline
        amended_at = _at(day, rng.randint(10, 16), rng.choice((0, 20, 40)))
        new_deadline = deadline
        if d.procedure in _SEALED_TENDERS and rng.random() < 0.8:
            if (_day(deadline) - day).days >= 17 and rng.random() < 0.4:
                mode = "fields"
            else:
                mode = "move"
                moved = max(_day(deadline) + _days(rng.randint(3, 10)), day + _days(17))
                local = deadline.astimezone(CST)
                new_deadline = _at(_workday_on_or_after(moved), local.hour, local.minute)
        else:
            mode = "contact"
        d.events.append(_Event(amended_at, "amendment", data={"mode": mode, "deadline": new_deadline, "old": deadline}))
        return new_deadline

    def _terminate(self, d: _Draft, at: datetime, deadline: datetime) -> None:
        first = _day(at) + _days(4)
        last = min(self.today - _ONE_DAY, _day(deadline) - _ONE_DAY)
        day = _workday_on_or_before(first + _days(d.rng.randint(0, max(0, (last - first).days))))
        day = max(day, _workday_on_or_after(first))
        moment = _at(day, d.rng.randint(10, 16), d.rng.choice((0, 15, 30, 45)))
        if moment < deadline and moment <= self.now:
            d.events.append(_Event(moment, "termination", data={"outcome": "terminated", "deadline": deadline}))

    def _fail(self, d: _Draft, deadline: datetime) -> None:
        if d.procedure in _SEALED:
            moment = deadline + timedelta(minutes=d.rng.randint(30, 120))
        else:
            moment = _at(_add_workdays(_day(deadline), 1), d.rng.randint(10, 15))
        d.events.append(_Event(moment, "termination", data={"outcome": "failed", "deadline": deadline}))

    def _bidders(self, rng: random.Random, d: _Draft, count: int) -> list[str]:
        tag = {"works": "works", "land": "land", "property": "property"}.get(d.trade_kind, d.facts.get("tag", "goods"))
        pool = self._pool(tag)
        return rng.sample(pool, min(count, len(pool)))

    def _aftermath(self, d: _Draft, deadline: datetime, table: dict[str, datetime]) -> None:
        """Opening records, candidate publicity, results and contracts after the deadline (older trades).

        Sections share one timetable, each a few minutes after the one before, so notices never tie.
        """
        rng = d.rng
        p = d.procedure
        opening_delay = timedelta(minutes=rng.randint(35, 90))
        publicity_day = _add_workdays(_day(deadline), rng.randint(2, 4))
        publicity_hour = rng.randint(10, 15)
        decision_lag = rng.randint(1, 3)
        result_lag, result_hour, result_minute = rng.randint(1, 2), rng.randint(9, 11), rng.choice((0, 30))
        signing_lag, contract_lag, contract_hour = rng.randint(3, 10), rng.randint(1, 2), rng.randint(13, 16)
        winners: set[str] = set()
        for i, section in enumerate(d.sections):
            offset = timedelta(minutes=7 * i)
            if p in _SEALED:
                count = {"works_open_tender": (4, 9), "land_tender": (3, 5)}.get(p, (3, 7))
                bids = self._sealed_bids(rng, d, section, rng.randint(*count))
                ranked = self._rank(d, bids)
                if p in _SEALED_TENDERS:
                    d.events.append(
                        _Event(
                            deadline + opening_delay + offset,
                            "opening_record",
                            section=section.code,
                            data={"bids": bids, "opened": deadline},
                        )
                    )
                # A bidder may bid for several sections but win only one.
                ranked = [b for b in ranked if b["bidder"] not in winners] or ranked
                # Every trade the platform evaluates publishes its candidates before the award (evaluation.award).
                if p in _SEALED_TENDERS:
                    start = _at(publicity_day, publicity_hour) + offset
                    end = _at(_workday_on_or_after(publicity_day + _days(3)), 17, 30)
                    data = {"ranked": ranked[:3], "count": len(bids), "start": start, "end": end}
                    d.events.append(_Event(start, "candidate_publicity", section=section.code, data=data))
                    decided = _day(end)
                else:
                    decided = _day(deadline)
                winner = ranked[0]
            elif p == "gp_single_source":
                winner = {"bidder": d.facts["supplier"], "price": (d.control or 0) * rng.randint(92, 99) // 100}
                decided = _add_workdays(_day(deadline), decision_lag + 1)
            elif p in ("land_listing", "land_auction"):
                steps = rng.randint(0, 12) if p == "land_listing" else rng.randint(5, 40)
                price = d.facts["start"] + steps * d.facts["increment"]
                winner = {"bidder": self._bidders(rng, d, 1)[0], "price": price, "offers": steps + 1}
                decided = _day(deadline)
            else:
                steps = rng.randint(0, 10)
                price = d.facts["price"] + steps * d.facts["increment"]
                winner = {"bidder": self._bidders(rng, d, 1)[0], "price": price, "offers": steps + 1}
                decided = _day(table["auction_start"] if steps else deadline)
            winners.add(winner["bidder"])
            result_at = _at(_add_workdays(decided, result_lag), result_hour, result_minute) + offset
            signed = _add_workdays(_day(result_at), signing_lag)
            result = {"winner": winner}
            if d.trade_kind in _TRANSFER_CONTRACT_WORKDAYS:  # the day its confirmation of the sale fixes
                due = _add_workdays(decided, _TRANSFER_CONTRACT_WORKDAYS[d.trade_kind])
                result["contract_due"], signed = due, min(signed, due)
            contract_at = _at(_add_workdays(signed, contract_lag), contract_hour) + offset
            d.events.append(_Event(result_at, "result", section=section.code, data=result))
            data = {"winner": winner, "signed": _at(signed, 10)}
            d.events.append(_Event(contract_at, "contract", section=section.code, data=data))
        d.events.sort(key=lambda e: e.at)

    def _sealed_bids(self, rng: random.Random, d: _Draft, section: SectionSpec, count: int) -> list[dict[str, Any]]:
        bids = []
        for key in self._bidders(rng, d, count):
            if d.trade_kind == "land":
                price = d.facts["start"] + rng.randint(0, 20) * d.facts["increment"]
            else:
                price = (section.estimated_price_fen or d.control or 0) * rng.randint(8_600, 9_880) // 10_000
            bids.append(
                {
                    "bidder": key,
                    "price": price,
                    # (only a works bid offers its own period: a purchase's or a land sale's is the notice's)
                    "days": d.facts["days"] - rng.choice((0, 0, 10, 20, 30)) if d.trade_kind == "works" else None,
                    "leader": _person_name(rng),
                    "certificate": f"湘{rng.randint(143, 243)}{rng.randint(2008, 2022)}{rng.randint(0, 9_999_999):07d}",
                    "score": rng.randint(8_000, 9_700) / 100,
                }
            )
        return bids

    @staticmethod
    def _rank(d: _Draft, bids: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if d.trade_kind == "land":  # a sale: the higher offer is the better (the plan's price score says so)
            return sorted(bids, key=lambda b: (-b["price"], b["bidder"]))
        if d.procedure == "gp_request_for_quotation" or d.facts.get("method") == "经评审的最低投标价法":
            return sorted(bids, key=lambda b: (b["price"], b["bidder"]))
        return sorted(bids, key=lambda b: (-b["score"], b["bidder"]))

    # --- names and codes --------------------------------------------------------------------------

    def _name(self, d: _Draft) -> None:
        """Write the project's name, description and funding now that the year is known."""
        year = d.year
        level = _level_name(d.place)
        if d.trade_kind in ("works", "procurement"):
            values = {**d.facts["values"], "year": year, "org": self.org(d.tenderer).name}
            d.name = d.facts["name_t"].format(**values)
            if d.trade_kind == "works":
                d.facts["scale"] = d.facts["scale_t"].format(**values)
                d.description = d.facts["scale"]
            else:
                items = [i for group in d.facts["items"].values() for i in group[:-1] or group]
                listing = "、".join(f"{n}{q}{u}" for n, u, q in items)
                d.facts["requirements"] = d.facts["req_t"].format(**values, items=listing)
                d.description = d.facts["requirements"]
            d.funding = [(k, desc.format(level=level, year=year), amount) for k, desc, amount in d.funding]
        elif d.trade_kind == "land":
            mode = _METHODS[d.procedure]
            serial = d.facts["serial"]
            while f"{d.place.abbr}{mode}{year}-{serial}" in self.parcels:
                serial += 1
            self.parcels.add(f"{d.place.abbr}{mode}{year}-{serial}")
            d.facts["parcel_no"] = f"{d.place.abbr}国土{mode[0]}〔{year}〕{serial}号"
            d.name = f"{d.facts['parcel_no']}宗地国有建设用地使用权{mode}出让"
            d.sections = [SectionSpec(code="01", name=f"{d.facts['parcel_no']}宗地")]
            d.description = (
                f"宗地位于{d.facts['location']}，出让面积{d.facts['area']:.2f}平方米，土地用途为{d.facts['use']}，"
                f"容积率{d.facts['ratio_min']:.1f}～{d.facts['ratio_max']:.1f}，出让年限{d.facts['tenure']}年。"
            )
        else:
            d.name = d.facts["name"]
            d.description = d.facts["detail"]

    @staticmethod
    def _unique_names(drafts: list[_Draft]) -> None:
        seen: dict[str, int] = {}
        for d in drafts:
            n = seen.get(d.name, 0)
            seen[d.name] = n + 1
            if n:
                d.name = f"{d.name}（{_CN_NUMBERS[n]}期）"

    @staticmethod
    def _trade_codes(drafts: list[_Draft]) -> None:
        serials: dict[tuple[str, int, str], int] = {}
        for d in sorted(drafts, key=lambda d: (d.events[0].at, d.index)):
            key = (d.region, d.year, d.trade_kind)
            serials[key] = serials.get(key, 0) + 1
            d.trade_code = make_trade_code(d.region, d.year, d.trade_kind, 10 + serials[key])

    # --- notices ------------------------------------------------------------------------------------

    def _render(self, d: _Draft) -> ProjectSpec:
        notices: list[NoticeSpec] = []
        for event in d.events:
            notices.append(self._notice(d, event, notices))
        return ProjectSpec(
            trade_code=d.trade_code,
            name=d.name,
            trade_kind=d.trade_kind,
            procedure=d.procedure,
            region_code=d.region,
            centre_code=d.centre,
            tenderer_key=d.tenderer,
            agent_key=d.agent,
            description=d.description,
            budget_fen=d.budget,
            control_price_fen=d.control,
            funding=tuple(FundingSpec(kind=k, description=desc, amount_fen=a) for k, desc, a in d.funding),
            sections=tuple(d.sections),
            notices=tuple(notices),
            specialities=_specialities(d),
        )

    def _notice(self, d: _Draft, e: _Event, earlier: list[NoticeSpec]) -> NoticeSpec:
        all_sections = tuple(s.code for s in d.sections)
        if e.kind == _OPENING_KIND[d.trade_kind]:
            table = e.data["timetable"]
            writer = {
                "works": self._tender,
                "procurement": self._procurement,
                "land": self._land,
                "property": self._property,
            }[d.trade_kind]
            title, body, fields = writer(d, e.at, table)
            return NoticeSpec(
                at=e.at,
                action=e.action,
                kind=e.kind,
                title=title,
                body=body,
                fields=fields,
                section_codes=all_sections,
                timetable=dict(table),
            )
        if e.kind == "amendment":
            title, body, fields = self._amendment(d, e, earlier[0])
            return NoticeSpec(
                at=e.at,
                action=e.action,
                kind=e.kind,
                title=title,
                body=body,
                fields=fields,
                section_codes=all_sections,
                target=0,
                changes=fields["changes"],
            )
        if e.kind == "termination":
            title, body, fields = self._termination(d, e, earlier[0])
            return NoticeSpec(
                at=e.at,
                action=e.action,
                kind=e.kind,
                title=title,
                body=body,
                fields=fields,
                section_codes=all_sections,
                target=0,
            )
        section = next(s for s in d.sections if s.code == e.section)
        writer = {
            "opening_record": self._opening_record,
            "candidate_publicity": self._publicity,
            "result": self._result,
            "contract": self._contract,
        }[e.kind]
        title, body, fields = writer(d, e, section)
        return NoticeSpec(
            at=e.at, action=e.action, kind=e.kind, title=title, body=body, fields=fields, section_codes=(section.code,)
        )

    # shared pieces

    @staticmethod
    def _contact(org: OrgSpec) -> str:
        return f"{org.name}，联系人：{org.contact_name}，电话：{org.contact_phone}"

    def _contacts(self, d: _Draft) -> list[str]:
        owner, agent_word = _ROLES[d.trade_kind]
        t = self.org(d.tenderer)
        lines = [f"{owner}：{t.name}", f"地址：{t.address}", f"联系人：{t.contact_name}", f"电话：{t.contact_phone}"]
        if d.agent:
            a = self.org(d.agent)
            lines += [
                f"{agent_word}：{a.name}",
                f"地址：{a.address}",
                f"联系人：{a.contact_name}",
                f"电话：{a.contact_phone}",
            ]
        return lines

    @staticmethod
    def _funding_text(d: _Draft) -> str:
        return "、".join(f"{desc}{_wan(amount)}" for _kind, desc, amount in d.funding)

    @staticmethod
    def _centre_name(d: _Draft) -> str:
        return next(name for code, name, _r, _a in _CENTRES if code == d.centre)

    def _supervisor(self, d: _Draft) -> str:
        if d.trade_kind == "works":
            return _dept_name(d.place, _WORKS[d.subject].supervisor)
        if d.trade_kind == "procurement":
            return _dept_name(d.place, "finance")
        if d.trade_kind == "land":
            city = _BY_CODE[_city_code(d.place.code)]
            bureau = _dept_name(city, "land")
            return bureau if bureau != self.org(d.tenderer).name else "湖南省自然资源厅"
        return d.facts["regulator"]

    # opening notices

    def _tender(self, d: _Draft, at: datetime, table: dict[str, datetime]) -> tuple[str, str, dict[str, Any]]:
        spec, f = _WORKS[d.subject], d.facts
        t = self.org(d.tenderer)
        a = self.org(d.agent) if d.agent else None
        approval = f"{d.place.abbr}发改审〔{d.year}〕{f['approval_no']}号"
        funding = self._funding_text(d)
        if len(d.sections) == 1:
            sections = "本项目划分为1个标段。"
        else:
            listed = "；".join(f"{s.name}（估算价{_wan(s.estimated_price_fen or 0)}）" for s in d.sections)
            sections = f"本项目划分为{len(d.sections)}个标段：{listed}。投标人可同时投多个标段，但只能中一个标段。"
        where = f["values"]["town"] if d.subject in ("road_rural", "river", "water", "sewage") else "城区"
        consortium = "接受" if f["consortium"] else "不接受"
        qualification = f"投标人须具备{spec.qualification}；拟派项目经理须具备{spec.leader}。"
        body = [
            "一、招标条件",
            f"本招标项目{d.name}已由{_dept_name(d.place, 'development')}以{approval}批准建设，项目业主为{t.name}，"
            f"建设资金来自{funding}，出资比例为100%，招标人为{t.name}"
            + (f"，招标代理机构为{a.name}" if a else "，由招标人自行组织招标")
            + "。项目已具备招标条件，现对该项目的施工进行公开招标。",
            "二、项目概况与招标范围",
            f"1. 建设地点：{_org_prefix(d.place)}{where}。",
            f"2. 建设规模：{f['scale']}",
            f"3. 计划工期：{f['days']}日历天。",
            f"4. 招标范围：{spec.scope}",
            f"5. 标段划分：{sections}",
            f"6. 最高投标限价：{_yuan(d.control or 0)}。",
            "三、投标人资格要求",
            f"1. 本次招标要求投标人须具备{spec.qualification}，并在人员、设备、资金等方面具有相应的施工能力。",
            f"2. 拟派项目经理须具备{spec.leader}，且未担任其他在施建设工程项目的项目经理。",
            f"3. 本次招标{consortium}联合体投标。",
            "4. 投标人不得存在《中华人民共和国招标投标法实施条例》第三十四条规定的情形；"
            "被人民法院列入失信被执行人名单的，不得参加投标。",
            "四、招标文件的获取",
            f"1. 凡有意参加投标者，请于{_cn_time(table['documents_sale_start'])}"
            f"至{_cn_time(table['documents_sale_end'])}"
            "（北京时间，下同），使用CA数字证书登录湖南省公共资源交易平台下载电子招标文件。",
            "2. 招标文件免费提供，不接受邮寄或现场领取。",
            "五、投标文件的递交",
            f"1. 投标文件递交的截止时间（投标截止时间，下同）为{_cn_time(table['bid_deadline'])}。投标人应在截止时间前"
            "通过交易平台加密上传电子投标文件，逾期上传的投标文件，交易平台将予以拒收。",
            "2. 开标时间同投标截止时间，采用不见面开标方式，投标人在线参加开标并解密投标文件。",
            "六、发布公告的媒介",
            f"本次招标公告同时在中国招标投标公共服务平台、湖南省招标投标监管网和{self._centre_name(d)}网站上发布。",
            "七、联系方式",
            *self._contacts(d),
            f"监督部门：{self._supervisor(d)}",
        ]
        fields: dict[str, Any] = {
            "project_overview": f"{f['scale']}{spec.scope}",
            "funding_source": funding,
            "qualification": qualification,
            "consortium_allowed": f["consortium"],
            "documents_how": "使用CA数字证书登录湖南省公共资源交易平台免费下载电子招标文件",
            "submission_how": "通过湖南省公共资源交易平台加密上传电子投标文件，不见面开标",
            "tenderer_contact": self._contact(t),
        }
        if a:
            fields["agent_contact"] = self._contact(a)
        return f"{d.name}施工招标公告", "\n".join(body), fields

    def _procurement(self, d: _Draft, at: datetime, table: dict[str, datetime]) -> tuple[str, str, dict[str, Any]]:
        f = d.facts
        t = self.org(d.tenderer)
        a = self.org(d.agent) if d.agent else None
        method = _METHODS[d.procedure]
        funding = self._funding_text(d)
        place = f"湖南省公共资源交易平台（{self._centre_name(d)}不见面开标大厅）"
        price = f["document_price"]
        fields: dict[str, Any] = {
            "project_overview": f["requirements"],
            "funding_source": funding,
            "qualification": f"满足《中华人民共和国政府采购法》第二十二条规定；{f['qualification']}",
            "consortium_allowed": f["consortium"] and d.procedure != "gp_single_source",
            "documents_how": "使用CA数字证书登录湖南省公共资源交易平台下载采购文件",
            "submission_how": "通过湖南省公共资源交易平台加密上传电子投标（响应）文件",
            "tenderer_contact": self._contact(t),
            "budget_fen": d.budget,
            "ceiling_price_fen": d.control,
            "requirements": f["requirements"],
            "document_price_fen": price,
            "opening_place": place,
        }
        if a:
            fields["agent_contact"] = self._contact(a)
        if d.procedure == "gp_single_source":
            return self._single_source(d, at, table, fields)
        is_tender = d.procedure == "gp_open_tender"
        word = "投标" if is_tender else "响应"
        deadline = table["bid_deadline"]
        sale_end = table.get("documents_sale_end", deadline)
        body = [
            "项目概况",
            f"{d.name}的潜在供应商应在湖南省公共资源交易平台获取采购文件，并于{_cn_time(deadline)}（北京时间）前提交{word}文件。",
            "一、项目基本情况",
            f"项目编号：{d.trade_code}",
            f"项目名称：{d.name}",
            f"采购方式：{method}",
            f"预算金额：{_yuan(d.budget or 0)}（{_wan(d.budget or 0)}）",
            f"最高限价：{_yuan(d.control or 0)}",
            f"采购需求：{f['requirements']}",
            f"合同履行期限：{f['term']}",
            f"本项目{'接受' if fields['consortium_allowed'] else '不接受'}联合体{word}。",
            "二、申请人的资格要求",
            "1. 满足《中华人民共和国政府采购法》第二十二条规定；",
            f"2. 落实政府采购政策需满足的资格要求：本项目{f['small_business']}；",
            f"3. 本项目的特定资格要求：{f['qualification']}；",
            "4. 未被列入“信用中国”网站失信被执行人、重大税收违法失信主体及中国政府采购网严重违法失信行为记录名单。",
            "三、获取采购文件",
            f"时间：{_cn_time(at)}至{_cn_time(sale_end)}",
            f"方式：使用CA数字证书登录湖南省公共资源交易平台下载；售价：{'免费' if price == 0 else _yuan(price)}。",
            f"四、提交{word}文件截止时间、开启时间和地点",
            f"截止时间及开启时间：{_cn_time(deadline)}",
            f"地点：{place}",
            "五、公告期限",
            f"自本公告发布之日起{5 if is_tender else 3}个工作日。",
            "六、其他补充事宜",
            f"本项目资金来源：{funding}。本项目采用全流程电子化采购，供应商须办理CA数字证书，{word}文件须加密上传。",
            "七、对本次采购提出询问，请按以下方式联系",
            *self._contacts(d),
            f"监督部门：{self._supervisor(d)}",
        ]
        notice = {"gp_open_tender": "公开招标公告", "gp_competitive_negotiation": "竞争性谈判公告"}
        notice |= {"gp_request_for_quotation": "询价公告", "gp_competitive_consultation": "竞争性磋商公告"}
        return f"{d.name}{notice[d.procedure]}", "\n".join(body), fields

    def _single_source(
        self, d: _Draft, at: datetime, table: dict[str, datetime], fields: dict[str, Any]
    ) -> tuple[str, str, dict[str, Any]]:
        supplier = self.org(d.facts["supplier"])
        experts = "、".join(self.evaluators[:3])
        fields = {
            **fields,
            "documents_how": "采购文件仅向拟定供应商提供",
            "submission_how": "拟定供应商通过湖南省公共资源交易平台提交响应文件",
            "opening_place": "不公开开启（单一来源采购，与拟定供应商协商确定成交价格）",
        }
        body = [
            "一、项目信息",
            f"采购人：{self.org(d.tenderer).name}",
            f"项目名称：{d.name}",
            f"项目编号：{d.trade_code}",
            f"拟采购的货物或服务说明：{d.facts['requirements']}",
            f"采购预算：{_yuan(d.budget or 0)}",
            "二、拟定供应商信息",
            f"名称：{supplier.name}",
            f"地址：{supplier.address}",
            "三、采用单一来源采购方式的原因及相关说明",
            "本项目须与原有系统及设备保持一致性和服务配套要求，依据《中华人民共和国政府采购法》第三十一条第（二）项"
            "规定，拟采用单一来源采购方式。",
            "四、专业人员论证意见",
            f"经{experts}等专业人员论证，认为本项目只能从唯一供应商处采购，同意采用单一来源采购方式。",
            "五、公示期限",
            f"{_cn_date(at)}至{_cn_time(table['notice_period_end'])}（不少于5个工作日）。",
            "六、其他补充事宜",
            "任何供应商、单位或者个人对采用单一来源采购方式公示有异议的，可以在公示期内将书面意见反馈给采购人、"
            "采购代理机构，并同时抄送同级财政部门。",
            "七、联系方式",
            *self._contacts(d),
            f"财政部门：{self._supervisor(d)}",
        ]
        return f"{d.name}单一来源采购公示", "\n".join(body), fields

    def _land_requirements(self, d: _Draft) -> str:
        text = (
            "中华人民共和国境内外的法人、自然人和其他组织均可申请参加，申请人可以单独申请，也可以联合申请。"
            "失信被执行人，以及有欠缴土地出让价款、闲置土地等违法违规行为的，不得参加竞买"
        )
        if d.facts["use"] == "工业用地":
            text += "；竞得人须在宗地所在园区注册成立项目公司，项目投资强度不低于每亩200万元"
        return text + "。"

    def _land(self, d: _Draft, at: datetime, table: dict[str, datetime]) -> tuple[str, str, dict[str, Any]]:
        f = d.facts
        t = self.org(d.tenderer)
        mode = _METHODS[d.procedure]
        government = ("湖南省" if d.place.code == "430000" else _city_name(d.place.code)) + "人民政府"
        if _level(d.place) == "county":
            government = d.place.name + "人民政府"
        requirements = self._land_requirements(d)
        green = ("不大于" if f["use"] == "工业用地" else "不小于") + f"{f['green']}%"
        if d.procedure == "land_listing":
            schedule = (
                f"挂牌时间：{_cn_time(table['listing_start'])}至{_cn_time(table['listing_end'])}。挂牌截止时有两个及以上"
                "竞买人要求报价的，进入网上限时竞价，按价高者得原则确定竞得人。"
            )
        elif d.procedure == "land_auction":
            schedule = (
                f"拍卖时间：{_cn_time(table['auction_start'])}，在湖南省公共资源交易平台网上拍卖系统进行。"
                "竞买申请截止时间为拍卖开始前两个工作日17时00分。"
            )
        else:
            schedule = f"投标截止及开标时间：{_cn_time(table['bid_deadline'])}，投标人须在截止时间前加密上传投标文件。"
        body = [
            f"经{government}批准，{t.name}决定以{mode}方式出让1宗国有建设用地使用权。现将有关事项公告如下：",
            f"一、{mode}出让地块的基本情况和规划指标要求",
            f"宗地编号：{f['parcel_no']}；宗地坐落：{f['location']}；出让面积：{f['area']:.2f}平方米；"
            f"土地用途：{f['use']}；容积率：{f['ratio_min']:.1f}～{f['ratio_max']:.1f}；建筑密度：不大于{f['density']}%；"
            f"绿地率：{green}；出让年限：{f['tenure']}年；起始价：{_wan(f['start'])}；增价幅度：{_wan(f['increment'])}；"
            f"竞买保证金：{_wan(f['deposit'])}。",
            f"本次{mode}出让{'设有底价，底价在出让结束时公开' if f['reserve'] else '不设底价'}。",
            "二、竞买人资格要求",
            requirements,
            f"三、本次国有建设用地使用权{mode}出让按照"
            + (
                "综合评分法确定中标人：投标报价按高价优先计分（70分），开发建设方案及竞买人资信另计30分，得分最高者中标。"
                if d.procedure == "land_tender"
                else "价高者得原则确定竞得人。"
            ),
            "四、出让文件的获取及竞买申请",
            f"本次{mode}出让的详细资料和具体要求，见{mode}出让文件。申请人可于{_cn_time(at)}起登录湖南省公共资源交易平台"
            "获取出让文件，并按要求提交竞买申请、交纳竞买保证金。竞买保证金须从竞买人本单位（本人）账户缴纳，以到账为准。",
            "五、时间安排",
            schedule,
            "六、其他需要公告的事项",
            "1. 竞得人应在成交之日起10个工作日内与出让人签订《国有建设用地使用权出让合同》，"
            "并按合同约定缴清土地出让价款。",
            "2. 宗地按现状净地出让，竞得人须按规划条件开发建设，"
            f"自土地交付之日起1年内动工、{LAND_BUILD_DAYS}日内竣工。",
            "3. 本次出让不接受电话、邮寄、口头竞买申请。",
            "七、联系方式",
            f"出让人：{t.name}",
            f"联系地址：{t.address}",
            f"联系人：{t.contact_name}",
            f"联系电话：{t.contact_phone}",
        ]
        fields = {
            "parcel_no": f["parcel_no"],
            "location": f["location"],
            "area_m2": f["area"],
            "land_use": f["use"],
            "plot_ratio_min": f["ratio_min"],
            "plot_ratio_max": f["ratio_max"],
            "tenure_years": f["tenure"],
            "starting_price_fen": f["start"],
            "increment_fen": f["increment"],
            "deposit_fen": f["deposit"],
            "reserve_price_set": f["reserve"],
            "bidder_requirements": requirements,
            "transferor_contact": self._contact(t),
        }
        return f"{t.name}国有建设用地使用权{mode}出让公告（{f['parcel_no']}）", "\n".join(body), fields

    def _property(self, d: _Draft, at: datetime, table: dict[str, datetime]) -> tuple[str, str, dict[str, Any]]:
        f = d.facts
        t = self.org(d.tenderer)
        centre = self._centre_name(d)
        requirements = (
            "意向受让方应为依法设立并有效存续的企业法人或具有完全民事行为能力的自然人，具有良好的财务状况、支付能力"
            "和商业信用，本项目不接受联合体受让"
        )
        if d.subject == "equity":
            requirements += "；受让后须保持标的企业职工劳动关系稳定，并承继标的企业的债权债务"
        requirements += "。"
        body = [
            f"项目编号：{d.trade_code}",
            "一、转让标的基本情况",
            f"转让标的：{f['lot']}。{f['detail']}",
            "二、转让方基本情况",
            f"转让方名称：{t.name}；住所：{t.address}；经济类型：国有独资公司。本次转让行为已经{f['regulator']}批准"
            f"（{d.place.abbr}国资产权〔{d.year}〕{f['approval_no']}号）。",
            "三、挂牌价格与交易保证金",
            f"挂牌价格：{_wan(f['price'])}；交易保证金：{_wan(f['deposit'])}，意向受让方须在信息披露期满前交纳至{centre}"
            "指定账户，以到账为准。",
            "四、受让方资格条件",
            requirements,
            "五、信息披露期",
            f"自{_cn_date(at)}起至{_cn_time(table['disclosure_end'])}止（不少于20个工作日）。",
            "六、交易方式",
            f"信息披露期满，产生两个及以上符合条件的意向受让方的，采取网络竞价（多次报价）方式确定受让方，竞价开始时间为"
            f"{_cn_time(table['auction_start'])}，加价幅度为{_wan(f['increment'])}；只产生一个符合条件的意向受让方的，"
            "以协议方式成交，成交价格不低于挂牌价格。",
            "七、其他事项",
            "1. 意向受让方须在信息披露期内通过交易平台提交受让申请及相关材料。",
            "2. 标的按现状转让，意向受让方应自行实地踏勘，递交受让申请即视为对标的现状的认可。",
            "3. 交易价款须在产权交易合同生效后5个工作日内一次性付清。",
            "八、联系方式",
            f"转让方：{t.name}，联系人：{t.contact_name}，电话：{t.contact_phone}",
            f"交易机构：{centre}",
        ]
        fields = {
            "subject": f["lot"],
            "transferor_name": t.name,
            "listing_price_fen": f["price"],
            "deposit_fen": f["deposit"],
            "transferee_requirements": requirements,
            "transferor_contact": self._contact(t),
        }
        return f"{d.name}公告", "\n".join(body), fields

    # amendments and terminations

    def _amendment(self, d: _Draft, e: _Event, opening: NoticeSpec) -> tuple[str, str, dict[str, Any]]:
        mode = e.data["mode"]
        owner, _agent = _ROLES[d.trade_kind]
        t = self.org(d.tenderer)
        documents = _DOCUMENTS[d.trade_kind]
        if mode == "move":
            new, old = e.data["deadline"], e.data["old"]
            changes: dict[str, Any] = {"timetable": {"bid_deadline": _iso(new), "opening": _iso(new)}}
            lines = [
                f"1. 投标截止时间及开标时间由原定的{_cn_time(old)}变更为{_cn_time(new)}。",
                f"2. {_REVISED[d.trade_kind]}已作相应修改，修改后的文件已在交易平台发布，请重新下载。",
            ]
            reason = (
                f"根据潜在投标人提出的问题，{owner}对{_REVISED[d.trade_kind]}进行了修改，该修改可能影响投标文件编制，"
                "依法顺延投标截止时间。"
            )
            affects, word = True, "变更"
        elif mode == "fields":
            key, addition = _CLARIFIED[d.trade_kind]
            revised = opening.fields[key].rstrip("。") + addition
            changes = {"fields": {key: revised}}
            lines = [f"1. 原公告中相关要求澄清为：{revised}", "2. 投标截止时间及开标时间不变。"]
            reason = f"{owner}对{documents}中的要求予以澄清，澄清内容可能影响投标文件编制，距投标截止时间不少于15日。"
            affects, word = True, "澄清"
        else:
            key = "transferor_contact" if d.trade_kind in ("land", "property") else "tenderer_contact"
            name, phone = _person_name(d.rng), _phone(d.rng, d.region)
            changes = {"fields": {key: f"{t.name}，联系人：{name}，电话：{phone}"}}
            lines = [
                f"1. {owner}联系人由{t.contact_name}变更为{name}，联系电话变更为{phone}。",
                "2. 本次更正不涉及实质性内容，原公告载明的时间安排不变。",
            ]
            reason = f"{owner}项目联系人因工作调整变更。"
            affects, word = False, "更正"
        audience = _AUDIENCE[d.trade_kind]
        body = [
            f"{audience}：",
            f"{d.name}（项目编号：{d.trade_code}）{opening.title}已于{_cn_time(opening.at)}在湖南省公共资源交易平台发布。"
            f"现对{documents}作如下{word}：",
            f"一、{word}内容",
            *lines,
            f"二、{word}原因",
            reason,
            "三、其他说明",
            f"1. 本{word}公告是{documents}的组成部分，与{documents}具有同等法律效力，如有不一致，以本公告为准。",
            f"2. 除上述内容外，{documents}其他内容不变。",
            f"3. {_AMENDMENT_RULE[d.trade_kind]}",
            f"4. 请{audience}及时关注交易平台发布的信息，因未及时查阅而造成的后果自行承担。",
            "四、联系方式",
            *self._contacts(d),
        ]
        fields = {"affects_bids": affects, "reason": reason, "changes": changes}
        return f"{d.name}{word}公告（第一次）", "\n".join(body), fields

    def _termination(self, d: _Draft, e: _Event, opening: NoticeSpec) -> tuple[str, str, dict[str, Any]]:
        owner, _agent = _ROLES[d.trade_kind]
        t = self.org(d.tenderer)
        deadline = e.data["deadline"]
        outcome = "failed" if e.data["outcome"] == "failed" and d.procedure in _SEALED else "terminated"
        if e.data["outcome"] == "failed":
            if d.procedure in _SEALED:
                who = "投标人" if d.procedure in _SEALED_TENDERS else "供应商"
                reason = (
                    f"截至投标截止时间（{_cn_time(deadline)}），递交投标（响应）文件的{who}不足3家，根据"
                    + (
                        "政府采购相关规定"
                        if d.trade_kind == "procurement"
                        else "《中华人民共和国招标投标法》第二十八条"
                    )
                    + "，本项目不予开标，作流标处理。"
                )
                word, next_steps = "流标", f"{owner}将依法重新组织，届时另行发布公告。"
            elif d.trade_kind == "land":
                reason = f"截至{_cn_time(deadline)}，本宗地无竞买人报价，本次出让未成交（流拍）。"
                word, next_steps = "流拍", "出让人将根据市场情况调整出让方案后重新公告出让。"
            else:
                reason = (
                    "信息披露期满，未征集到符合条件的意向受让方，根据《企业国有资产交易监督管理办法》相关规定，"
                    "本次挂牌转让终结。"
                )
                word, next_steps = "终结", "转让方将重新履行审批程序后另行挂牌。"
        else:
            reason = _TERMINATION_REASONS[d.procedure if d.procedure == "gp_single_source" else d.trade_kind]
            word, next_steps = "终止", "项目调整完成后将另行发布公告。"
        body = [
            "一、项目基本情况",
            f"项目编号：{d.trade_code}",
            f"项目名称：{d.name}",
            f"{owner}：{t.name}",
            f"原公告：{opening.title}（发布时间：{_cn_time(opening.at)}）",
            f"截止时间：{_cn_time(deadline)}",
            f"二、{word}原因",
            reason,
            "三、后续安排",
            next_steps,
            "四、其他说明",
            "已交纳保证金的，保证金将于本公告发布之日起5日内原路退还，不计利息。对本公告有异议的，可在公告发布之日起"
            f"3个工作日内以书面形式向{owner}提出。本公告在湖南省公共资源交易平台及{self._centre_name(d)}网站同步发布，"
            f"监督部门：{self._supervisor(d)}。已下载的{_DOCUMENTS[d.trade_kind]}自本公告发布之日起停止使用，"
            "后续安排请关注湖南省公共资源交易平台发布的公告。",
            "五、联系方式",
            *self._contacts(d),
        ]
        fields = {"outcome": outcome, "reason": reason, "next_steps": next_steps}
        return f"{d.name}{word}公告", "\n".join(body), fields

    # what the platform would publish after the deadline

    def _opening_record(self, d: _Draft, e: _Event, section: SectionSpec) -> tuple[str, str, dict[str, Any]]:
        bids = e.data["bids"]
        opened: datetime = e.data["opened"]
        label = _label(section.code, d.trade_kind, len(d.sections))
        works = d.trade_kind == "works"
        if works:
            header = "序号｜投标人名称｜投标报价（元）｜工期（日历天）｜质量目标"
            rows = [
                f"{i}｜{self.org(b['bidder']).name}｜{_yuan(b['price'])[:-1]}｜{b['days']}｜合格"
                for i, b in enumerate(bids, 1)
            ]
        else:
            header = "序号｜投标人名称｜投标报价（元）"
            rows = [f"{i}｜{self.org(b['bidder']).name}｜{_yuan(b['price'])[:-1]}" for i, b in enumerate(bids, 1)]
        ceiling = (
            f"最高投标限价：{_yuan(section.estimated_price_fen)}。"
            if section.estimated_price_fen
            else f"起始价：{_yuan(d.facts.get('start', 0))}。"
        )
        body = [
            f"项目编号：{d.trade_code}",
            f"项目名称：{d.name}",
            f"标段（包）：{section.name}",
            f"开标时间：{_cn_time(opened)}",
            "开标地点：湖南省公共资源交易平台（不见面开标）",
            f"投标截止时间前，交易平台共收到{len(bids)}家投标人的电子投标文件，经开标人使用各自的密钥份额在线解密，全部解密成功。"
            "开标情况如下：",
            header,
            *rows,
            ceiling,
            "开标过程说明：",
            f"1. 开标由{self._centre_name(d)}组织，在监督人员的在线监督下进行，开标时间与投标截止时间为同一时间。",
            "2. 电子投标文件由开标人共同解密，解密后交易平台自动公布投标人名称、投标报价及招标文件规定的其他内容，"
            "价格密钥随开标记录一并公开，供任何人核验。",
            "3. 各投标人对开标过程未提出异议。",
            "4. 本开标记录仅为开标现场记录，不代表评审结果，投标报价以评标委员会评审结果为准。",
        ]
        listed = []
        for b in bids:
            row: dict[str, Any] = {
                "bidder": self.org(b["bidder"]).name,
                "bidder_key": b["bidder"],
                "price_fen": b["price"],
                "outcome": "opened",
            }
            if works:
                row |= {"duration_days": b["days"], "quality": "合格"}
            listed.append(row)
        fields = {"opened_at": _iso(opened), "bids": listed}
        return f"{d.name}{label}开标记录", "\n".join(body), fields

    def _publicity(self, d: _Draft, e: _Event, section: SectionSpec) -> tuple[str, str, dict[str, Any]]:
        ranked, count = e.data["ranked"], e.data["count"]
        start, end = e.data["start"], e.data["end"]
        label = _label(section.code, d.trade_kind, len(d.sections))
        t = self.org(d.tenderer)
        land = d.trade_kind == "land"
        panel = 5 if land or (d.control or 0) < 4_000_000_000 else 7
        method = d.facts["method"] if d.trade_kind == "works" else "综合评分法"
        summary = (
            f"本项目评标委员会由{panel}人组成，其中招标人代表1人、从湖南省综合评标专家库随机抽取专家{panel - 1}人。"
            f"评标办法为{method}。共有{count}家投标人递交投标文件，经初步评审，{count}家投标人通过评审。"
        )
        lines = []
        candidates = []
        for rank, b in enumerate(ranked, 1):
            firm = self.org(b["bidder"])
            if land:
                lines.append(
                    f"第{_CN_NUMBERS[rank - 1]}中标候选人：{firm.name}，投标报价：{_yuan(b['price'])}，"
                    f"综合得分：{b['score']}分。"
                )
            elif d.trade_kind == "procurement":
                lines.append(
                    f"第{_CN_NUMBERS[rank - 1]}中标候选人：{firm.name}，投标报价：{_yuan(b['price'])}，"
                    f"综合得分：{b['score']}分，项目负责人：{b['leader']}。"
                )
            else:
                lines.append(
                    f"第{_CN_NUMBERS[rank - 1]}中标候选人：{firm.name}，投标报价：{_yuan(b['price'])}，质量：合格，"
                    f"工期：{b['days']}日历天，项目负责人：{b['leader']}（注册证书编号：{b['certificate']}）。"
                )
            candidate: dict[str, Any] = {
                "rank": rank,
                "name": firm.name,
                "bidder_key": b["bidder"],
                "price_fen": b["price"],
                "score": b["score"],
                "qualification": "满足招标文件规定的资格条件",
            }
            if d.trade_kind == "works":
                candidate |= {
                    "quality": "合格",
                    "duration_days": b["days"],
                    "project_leader": b["leader"],
                    "certificate": b["certificate"],
                }
            elif d.trade_kind == "procurement":
                candidate |= {"project_leader": b["leader"]}
            candidates.append(candidate)
        objection = (
            "在公示期内以书面形式向招标人提出异议，或通过湖南省公共资源交易平台在线提交；招标人自收到异议之日起3日内作出答复，"
            "作出答复前暂停招标投标活动"
        )
        body = [
            f"{t.name}的{d.name}{label}（项目编号：{d.trade_code}）已开标，评标工作已经结束。根据评标委员会的书面评标报告，"
            "现将中标候选人公示如下：",
            "一、评标情况",
            summary,
            "二、中标候选人",
            *lines,
            "中标候选人的资格证明材料已在交易平台一并公示。",
            "三、公示期",
            f"{_cn_time(start)}至{_cn_time(end)}。",
            "四、异议与投诉",
            f"投标人或者其他利害关系人对评标结果有异议的，应当{objection}。对答复不满意的，可依法向{self._supervisor(d)}投诉。",
            "五、联系方式",
            *self._contacts(d),
        ]
        fields = {
            "candidates": candidates,
            "evaluation_summary": summary,
            "publicity_start": _iso(start),
            "publicity_end": _iso(end),
            "objection_how": objection,
        }
        return f"{d.name}{label}中标候选人公示", "\n".join(body), fields

    def _items(self, d: _Draft, section: SectionSpec, price: int) -> list[dict[str, Any]]:
        """Main items with unit prices that add up to the award (the last item takes the remainder)."""
        items = d.facts["items"][section.code]
        rng = random.Random(f"{self.seed}:items:{d.trade_code}:{section.code}")
        weights = [rng.randint(2, 9) * q for _n, _u, q in items[:-1]]
        listed = []
        rest = price
        for (name, unit, quantity), w in zip(items[:-1], weights, strict=True):
            unit_price = price * w // (sum(weights) + max(1, sum(weights) // 8)) // quantity
            rest -= unit_price * quantity
            listed.append({"name": name, "quantity": quantity, "unit": unit, "unit_price_fen": unit_price})
        name, unit, quantity = items[-1]
        listed.append({"name": name, "quantity": quantity, "unit": unit, "unit_price_fen": rest // quantity})
        return listed

    def _result(self, d: _Draft, e: _Event, section: SectionSpec) -> tuple[str, str, dict[str, Any]]:
        winner = e.data["winner"]
        firm = self.org(winner["bidder"])
        price = winner["price"]
        label = _label(section.code, d.trade_kind, len(d.sections))
        fields: dict[str, Any] = {
            "winner": firm.name,
            "winner_key": winner["bidder"],
            "price_fen": price,
            "winner_address": firm.address,
        }
        if "contract_due" in e.data:
            fields["contract_due_on"] = e.data["contract_due"].isoformat()
        if d.trade_kind == "works":
            fields |= {
                "duration_days": winner["days"],
                "project_leader": winner["leader"],
                "evaluation_panel": list(self.evaluators),
            }
            body = [
                f"{d.name}{label}（项目编号：{d.trade_code}）经评标委员会评审，中标候选人公示期满无异议，招标人依法确定中标人。"
                "现将中标结果公告如下：",
                "一、中标信息",
                f"中标人：{firm.name}",
                f"中标人地址：{firm.address}",
                f"中标价：{_yuan(price)}",
                f"工期：{winner['days']}日历天",
                "质量标准：合格",
                f"项目经理：{winner['leader']}（注册证书编号：{winner['certificate']}）",
                "二、评标委员会成员",
                "、".join(self.evaluators),
                "三、其他说明",
                "招标人将于中标通知书发出之日起30日内与中标人订立书面合同。未中标投标人的投标保证金将在书面合同签订后5日内退还。",
                "投标人或者其他利害关系人认为招标投标活动不符合法律、行政法规规定的，可以自知道或者应当知道之日起10日内"
                "向有关行政监督部门投诉（《中华人民共和国招标投标法实施条例》第六十条）。",
                "四、联系方式",
                *self._contacts(d),
                f"监督部门：{self._supervisor(d)}",
            ]
            title = f"{d.name}{label}中标结果公告"
        elif d.trade_kind == "procurement":
            items = self._items(d, section, price)
            fields |= {
                "items": items,
                "evaluation_panel": list(self.evaluators[: 5 if d.procedure == "gp_open_tender" else 3]),
            }
            word = "中标" if d.procedure == "gp_open_tender" else "成交"
            fee = price // 100 // 100 * 100
            body = [
                f"一、项目编号：{d.trade_code}",
                f"二、项目名称：{d.name}{label}",
                f"三、{word}信息",
                f"供应商名称：{firm.name}",
                f"供应商地址：{firm.address}",
                f"{word}金额：{_yuan(price)}",
                "四、主要标的信息",
                *(f"{i['name']}，数量：{i['quantity']}{i['unit']}，单价：{_yuan(i['unit_price_fen'])}" for i in items),
                "五、评审专家名单",
                "、".join(fields["evaluation_panel"])
                if d.procedure != "gp_single_source"
                else "单一来源采购协商小组成员：" + "、".join(self.evaluators[:3]),
                "六、代理服务收费标准及金额",
                f"参照国家有关招标代理服务收费标准收取，金额：{_yuan(fee)}。"
                if d.agent
                else "本项目由采购人自行组织，不收取代理服务费。",
                "七、公告期限",
                "自本公告发布之日起1个工作日。本结果公告同时在中国政府采购网湖南分网发布，采购文件随本公告一并公开。",
                "八、其他补充事宜",
                f"采购人应当自{word}通知书发出之日起30日内与{word}供应商签订政府采购合同。供应商认为{word}结果使自己的权益受到损害的，"
                "可以在本公告期限届满之日起7个工作日内以书面形式向采购人或采购代理机构提出质疑。",
                "九、联系方式",
                *self._contacts(d),
            ]
            title = f"{d.name}{label}{word}结果公告"
        elif d.trade_kind == "land":
            f = d.facts
            mode = _METHODS[d.procedure]
            how = f"报价{winner['offers']}轮" if "offers" in winner else "经评标委员会综合评审"
            body = [
                f"{self.org(d.tenderer).name}以{mode}方式出让的{f['parcel_no']}宗地国有建设用地使用权已确定竞得人，现将结果公示如下：",
                "一、宗地基本情况",
                f"宗地编号：{f['parcel_no']}；坐落：{f['location']}；出让面积：{f['area']:.2f}平方米；土地用途：{f['use']}；"
                f"出让年限：{f['tenure']}年。",
                "二、成交情况",
                f"起始价：{_wan(f['start'])}；成交价：{_wan(price)}（{_yuan(price)}）；{how}；竞得人：{firm.name}。",
                "三、其他事项",
                "竞得人应在成交之日起10个工作日内与出让人签订《国有建设用地使用权出让合同》，并在合同约定期限内缴清全部土地出让价款。"
                "竞得人交纳的竞买保证金自动转作受让地块的定金，其他竞买人交纳的保证金在出让活动结束后5个工作日内退还。",
                "公示期为5个工作日，对公示结果有异议的，可在公示期内以书面形式向出让人提出。",
                "四、联系方式",
                *self._contacts(d),
            ]
            title = f"{d.name}结果公示"
        else:
            f = d.facts
            how = "网络竞价" if winner["offers"] > 1 else "协议成交"
            body = [
                f"{d.name}项目（项目编号：{d.trade_code}）信息披露期满，经{how}确定受让方，现将成交结果公告如下：",
                "一、成交信息",
                f"转让标的：{f['lot']}",
                f"转让方：{self.org(d.tenderer).name}",
                f"受让方：{firm.name}",
                f"挂牌价格：{_wan(f['price'])}",
                f"成交价格：{_wan(price)}（{_yuan(price)}）",
                f"交易方式：{how}",
                "二、其他事项",
                "受让方应在成交之日起5个工作日内与转让方签订产权交易合同，并按约定支付交易价款。受让方交纳的交易保证金转为交易价款的"
                "一部分，其他意向受让方交纳的保证金在成交之日起3个工作日内无息退还。本次交易经交易机构审核出具交易凭证后，"
                "转让方、受让方凭交易凭证办理权属变更登记手续。",
                "三、联系方式",
                *self._contacts(d),
                f"交易机构：{self._centre_name(d)}",
            ]
            title = f"{d.name}成交结果公告"
        return title, "\n".join(body), fields

    def _contract(self, d: _Draft, e: _Event, section: SectionSpec) -> tuple[str, str, dict[str, Any]]:
        winner = e.data["winner"]
        signed: datetime = e.data["signed"]
        firm = self.org(winner["bidder"])
        t = self.org(d.tenderer)
        owner, _agent = _ROLES[d.trade_kind]
        label = _label(section.code, d.trade_kind, len(d.sections))
        price = winner["price"]
        contract_name, party = _CONTRACTS[d.trade_kind]
        if d.trade_kind == "works":
            term = f"{winner['days']}日历天（自开工令载明的开工日期起算）"
            subject = section.name
            starts, ends = _term_dates(term, _day(signed), days=winner["days"])
        elif d.trade_kind == "procurement":
            term, subject = d.facts["term"], "、".join(n for n, _u, _q in d.facts["items"][section.code])
            starts, ends = _term_dates(term, _day(signed))
        elif d.trade_kind == "land":
            term, subject = (
                f"{d.facts['tenure']}年（自交付土地之日起算）",
                f"{d.facts['parcel_no']}宗地国有建设用地使用权",
            )
            starts, ends = _term_dates(term, _day(signed), years=d.facts["tenure"])
        else:
            term, subject = d.facts["term"], d.facts["lot"]
            starts, ends = _term_dates(term, _day(signed))
        number = f"{d.trade_code}-{section.code}-HT"
        what = d.facts["parcel_no"] + "宗地" if d.trade_kind == "land" else d.name
        digest = hashlib.sha256(f"{number}|{t.name}|{firm.name}|{price}|{_iso(signed)}".encode()).hexdigest()
        body = [
            f"一、合同编号：{number}",
            f"二、合同名称：{what}{label}{contract_name}",
            f"三、项目编号：{d.trade_code}",
            "四、合同主体",
            f"甲方（{owner}）：{t.name}，地址：{t.address}，联系方式：{t.contact_phone}",
            f"乙方（{party}）：{firm.name}，地址：{firm.address}，联系方式：{firm.contact_phone}",
            "五、合同主要信息",
            f"主要标的：{subject}",
            f"合同金额：{_yuan(price)}",
            f"履约期限：{term}",
            f"签订日期：{_cn_date(signed)}",
            f"六、合同公告日期：{_cn_date(e.at)}",
            "七、其他说明",
            f"合同文本已上传至湖南省公共资源交易平台存档，文本的SHA-256摘要为{digest}，任何人可下载合同文本核验其完整性。"
            "合同履行过程中的资金支付情况将在交易平台持续公开，接受社会监督。",
        ]
        fields = {
            "parties": [
                {"role": "甲方", "name": t.name, "org_key": d.tenderer},
                {"role": "乙方", "name": firm.name, "org_key": winner["bidder"]},
            ],
            "amount_fen": price,
            "signed_on": _iso(signed),
            "term": term,
            "document_sha256": digest,
            # The rest of what recording the contract asks (trading.demo.seed records it: trading.funds.contracts).
            "starts_on": starts.isoformat(),
            "ends_on": ends.isoformat(),
            "notes": body[-1],
        }
        return f"{d.name}{label}合同公示", "\n".join(body), fields


#: A transfer's contract, in working days from the sale (as its result notice says): land 10, property 5.
_TRANSFER_CONTRACT_WORKDAYS = {"land": 10, "property": 5}

_NUMERALS = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5}


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, in a year without one
        return day.replace(year=day.year + years, day=28)


def _term_dates(term: str, signed: date, *, days: int = 0, years: int = 0) -> tuple[date, date]:
    """The first and last day of a contract term as the demo words it (or *days* or *years* long). It runs from
    the working day after signing (commencement, delivery of the land, the lease), or from the signing day when it
    says so ("合同签订后60日内交货…": by the 60th day after); N days end on the Nth day, N years the day before
    the anniversary. A term that ends with an event the contract cannot date ("至股权变更登记完成之日止") is given
    90 days, the time such a registration takes at most."""
    if not days and not years:
        after_signing = re.search(r"签订后(\d+)日", term)
        if after_signing:
            return signed, signed + timedelta(days=int(after_signing.group(1)))
        counted = re.search(r"(\d+)日", term)
        if counted:
            days = int(counted.group(1))
        elif counted := re.search(r"(\d+|[一两二三四五])年", term):
            n = counted.group(1)
            years = int(n) if n.isdigit() else _NUMERALS[n]
        else:
            days = 90
    start = _add_workdays(signed, 1)
    if years:
        return start, _add_years(start, years) - timedelta(days=1)
    return start, start + timedelta(days=days - 1)


_ROLES = {
    "works": ("招标人", "招标代理机构"),
    "procurement": ("采购人", "采购代理机构"),
    "land": ("出让人", "代理机构"),
    "property": ("转让方", "代理机构"),
}
_AUDIENCE = {"works": "各潜在投标人", "procurement": "各潜在供应商", "land": "各竞买申请人", "property": "各意向受让方"}
_DOCUMENTS = {"works": "招标文件", "procurement": "采购文件", "land": "出让文件", "property": "转让公告"}
_REVISED = {
    "works": "招标文件第五章工程量清单及第七章技术标准和要求",
    "procurement": "采购文件第三章采购需求中的技术参数",
    "land": "出让文件中的宗地规划设计条件",
}
#: the field an amendment clarifies, and what it adds
_CLARIFIED = {
    "works": ("qualification", "；投标人近五年内须具有至少1项类似工程施工业绩。"),
    "procurement": ("requirements", "；核心产品须提供近一年内的产品检测报告。"),
    "land": ("bidder_requirements", "；竞买人须在竞买申请时提交项目投资建设承诺书。"),
}
_AMENDMENT_RULE = {
    "works": "澄清或者修改的内容可能影响投标文件编制的，应当在投标截止时间至少15日前发出；"
    "不足15日的，应当顺延投标截止时间"
    "（《中华人民共和国招标投标法》第二十三条）。",
    "procurement": "澄清或者修改的内容可能影响投标（响应）文件编制的，应当在截止时间至少15日前发出；不足15日的，"
    "应当顺延提交投标（响应）文件的截止时间（《政府采购货物和服务招标投标管理办法》第二十七条）。",
    "land": "竞买申请人已提交的竞买申请及已交纳的竞买保证金继续有效，无需重新提交。",
    "property": "意向受让方已提交的受让申请及已交纳的交易保证金继续有效，无需重新提交。",
}
_TERMINATION_REASONS = {
    "works": "因项目建设方案调整，经招标人研究并报项目审批部门同意，终止本次招标。",
    "procurement": "因采购需求发生重大变化，经采购人研究决定，终止本次采购活动。",
    "gp_single_source": (
        "公示期内收到供应商对采用单一来源采购方式的异议，经组织专业人员复核，异议成立，终止本次单一来源采购。"
    ),
    "land": "因宗地规划条件调整，经出让人报请人民政府同意，终止本次出让活动。",
    "property": "因转让方经营发展需要，经国有资产监督管理机构同意，终结本次转让。",
}
_CONTRACTS = {
    "works": ("施工合同", "中标人"),
    "procurement": ("政府采购合同", "供应商"),
    "land": ("国有建设用地使用权出让合同", "竞得人"),
    "property": ("产权交易合同", "受让方"),
}
