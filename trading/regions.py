"""Administrative divisions (行政区划代码, GB/T 2260) of Hunan province: the province, its 14 prefecture-level
divisions and their 122 county-level divisions, with lookups up and down the tree.

Codes and names are those in force in the 2023 national list (as of 2023-06-30, the National Bureau of
Statistics' 统计用区划代码, which carries the Ministry of Civil Affairs' county-level codes). Only
administrative divisions are listed: the statistical list's functional zones (codes whose fifth digit is 7,
such as 湘潭九华示范区 430373 or 常德市西洞庭管理区 430771) are not divisions and are left out.

``level`` is ``"city"`` for every prefecture-level division, the autonomous prefecture 湘西土家族苗族自治州
included, and ``"county"`` for every county-level one: districts (区), county-level cities (县级市), counties
(县) and autonomous counties (自治县).
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from trading.errors import InvalidInput

Level = Literal["province", "city", "county"]


class Region(Struct, frozen=True):
    """One administrative division (行政区划)."""

    code: str
    name: str
    level: Level
    parent: str | None


PROVINCE_CODE = "430000"

_DIVISIONS: tuple[tuple[str, str], ...] = (
    ("430000", "湖南省"),
    ("430100", "长沙市"),
    ("430102", "芙蓉区"),
    ("430103", "天心区"),
    ("430104", "岳麓区"),
    ("430105", "开福区"),
    ("430111", "雨花区"),
    ("430112", "望城区"),
    ("430121", "长沙县"),
    ("430181", "浏阳市"),
    ("430182", "宁乡市"),
    ("430200", "株洲市"),
    ("430202", "荷塘区"),
    ("430203", "芦淞区"),
    ("430204", "石峰区"),
    ("430211", "天元区"),
    ("430212", "渌口区"),
    ("430223", "攸县"),
    ("430224", "茶陵县"),
    ("430225", "炎陵县"),
    ("430281", "醴陵市"),
    ("430300", "湘潭市"),
    ("430302", "雨湖区"),
    ("430304", "岳塘区"),
    ("430321", "湘潭县"),
    ("430381", "湘乡市"),
    ("430382", "韶山市"),
    ("430400", "衡阳市"),
    ("430405", "珠晖区"),
    ("430406", "雁峰区"),
    ("430407", "石鼓区"),
    ("430408", "蒸湘区"),
    ("430412", "南岳区"),
    ("430421", "衡阳县"),
    ("430422", "衡南县"),
    ("430423", "衡山县"),
    ("430424", "衡东县"),
    ("430426", "祁东县"),
    ("430481", "耒阳市"),
    ("430482", "常宁市"),
    ("430500", "邵阳市"),
    ("430502", "双清区"),
    ("430503", "大祥区"),
    ("430511", "北塔区"),
    ("430522", "新邵县"),
    ("430523", "邵阳县"),
    ("430524", "隆回县"),
    ("430525", "洞口县"),
    ("430527", "绥宁县"),
    ("430528", "新宁县"),
    ("430529", "城步苗族自治县"),
    ("430581", "武冈市"),
    ("430582", "邵东市"),
    ("430600", "岳阳市"),
    ("430602", "岳阳楼区"),
    ("430603", "云溪区"),
    ("430611", "君山区"),
    ("430621", "岳阳县"),
    ("430623", "华容县"),
    ("430624", "湘阴县"),
    ("430626", "平江县"),
    ("430681", "汨罗市"),
    ("430682", "临湘市"),
    ("430700", "常德市"),
    ("430702", "武陵区"),
    ("430703", "鼎城区"),
    ("430721", "安乡县"),
    ("430722", "汉寿县"),
    ("430723", "澧县"),
    ("430724", "临澧县"),
    ("430725", "桃源县"),
    ("430726", "石门县"),
    ("430781", "津市市"),
    ("430800", "张家界市"),
    ("430802", "永定区"),
    ("430811", "武陵源区"),
    ("430821", "慈利县"),
    ("430822", "桑植县"),
    ("430900", "益阳市"),
    ("430902", "资阳区"),
    ("430903", "赫山区"),
    ("430921", "南县"),
    ("430922", "桃江县"),
    ("430923", "安化县"),
    ("430981", "沅江市"),
    ("431000", "郴州市"),
    ("431002", "北湖区"),
    ("431003", "苏仙区"),
    ("431021", "桂阳县"),
    ("431022", "宜章县"),
    ("431023", "永兴县"),
    ("431024", "嘉禾县"),
    ("431025", "临武县"),
    ("431026", "汝城县"),
    ("431027", "桂东县"),
    ("431028", "安仁县"),
    ("431081", "资兴市"),
    ("431100", "永州市"),
    ("431102", "零陵区"),
    ("431103", "冷水滩区"),
    ("431122", "东安县"),
    ("431123", "双牌县"),
    ("431124", "道县"),
    ("431125", "江永县"),
    ("431126", "宁远县"),
    ("431127", "蓝山县"),
    ("431128", "新田县"),
    ("431129", "江华瑶族自治县"),
    ("431181", "祁阳市"),
    ("431200", "怀化市"),
    ("431202", "鹤城区"),
    ("431221", "中方县"),
    ("431222", "沅陵县"),
    ("431223", "辰溪县"),
    ("431224", "溆浦县"),
    ("431225", "会同县"),
    ("431226", "麻阳苗族自治县"),
    ("431227", "新晃侗族自治县"),
    ("431228", "芷江侗族自治县"),
    ("431229", "靖州苗族侗族自治县"),
    ("431230", "通道侗族自治县"),
    ("431281", "洪江市"),
    ("431300", "娄底市"),
    ("431302", "娄星区"),
    ("431321", "双峰县"),
    ("431322", "新化县"),
    ("431381", "冷水江市"),
    ("431382", "涟源市"),
    ("433100", "湘西土家族苗族自治州"),
    ("433101", "吉首市"),
    ("433122", "泸溪县"),
    ("433123", "凤凰县"),
    ("433124", "花垣县"),
    ("433125", "保靖县"),
    ("433126", "古丈县"),
    ("433127", "永顺县"),
    ("433130", "龙山县"),
)

# Codes withdrawn by a change of status, mapped to the division that replaced them. Organisations registered
# before the change still carry the old code inside their unified social credit code.
FORMER_CODES: dict[str, str] = {
    "430122": "430112",  # 望城县 → 望城区 (2011)
    "430124": "430182",  # 宁乡县 → 宁乡市 (2017)
    "430221": "430212",  # 株洲县 → 渌口区 (2018)
    "430521": "430582",  # 邵东县 → 邵东市 (2019)
    "431121": "431181",  # 祁阳县 → 祁阳市 (2021)
}


def _level(code: str) -> Level:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def _parent(code: str) -> str | None:
    level = _level(code)
    if level == "province":
        return None
    if level == "city":
        return code[:2] + "0000"
    return code[:4] + "00"


REGIONS: dict[str, Region] = {
    code: Region(code=code, name=name, level=_level(code), parent=_parent(code)) for code, name in _DIVISIONS
}
PROVINCE: Region = REGIONS[PROVINCE_CODE]
CITIES: list[Region] = [region for region in REGIONS.values() if region.level == "city"]
COUNTIES: list[Region] = [region for region in REGIONS.values() if region.level == "county"]

_CHILDREN: dict[str, list[Region]] = {code: [] for code in REGIONS}
for _region in REGIONS.values():
    if _region.parent is not None:
        _CHILDREN[_region.parent].append(_region)
del _region


def get_region(code: str) -> Region:
    """The division with this six-digit code, or :class:`InvalidInput` (``unknown_region``) saying why not."""
    text = code.strip() if isinstance(code, str) else ""
    region = REGIONS.get(text)
    if region is not None:
        return region
    if len(text) != 6 or not text.isascii() or not text.isdigit():
        raise InvalidInput(
            f"行政区划代码应为6位数字，收到的是“{code}”",
            f"An administrative division code is six digits; got '{code}'",
            code="unknown_region",
            rule="GB/T 2260",
            details={"region_code": str(code)},
        )
    if text in FORMER_CODES:
        current = REGIONS[FORMER_CODES[text]]
        raise InvalidInput(
            f"行政区划代码 {text} 已撤销，现为{full_name(current.code)}（{current.code}）",
            f"Division code {text} has been withdrawn; it is now {current.code} ({current.name})",
            code="unknown_region",
            rule="GB/T 2260",
            details={"region_code": text, "current_code": current.code},
        )
    raise InvalidInput(
        f"行政区划代码 {text} 不是本平台所辖（湖南省）的行政区划",
        f"Division code {text} is not a division this platform serves (Hunan province)",
        code="unknown_region",
        rule="GB/T 2260",
        details={"region_code": text},
    )


def children(code: str) -> list[Region]:
    """The divisions directly under this one, in code order (a county has none)."""
    return list(_CHILDREN[get_region(code).code])


def ancestors(code: str) -> list[Region]:
    """The divisions above this one, from the province down to its parent (the province has none)."""
    chain: list[Region] = []
    parent = get_region(code).parent
    while parent is not None:
        region = REGIONS[parent]
        chain.append(region)
        parent = region.parent
    chain.reverse()
    return chain


def full_name(code: str) -> str:
    """The name with every level above it: ``full_name("430723") == "湖南省常德市澧县"``."""
    region = get_region(code)
    return "".join(ancestor.name for ancestor in ancestors(region.code)) + region.name


def is_within(code: str, ancestor_code: str) -> bool:
    """Whether ``code`` is ``ancestor_code`` itself or lies under it (澧县 is within 常德市 and 湖南省)."""
    region = get_region(code)
    ancestor = get_region(ancestor_code)
    if region.code == ancestor.code:
        return True
    return any(above.code == ancestor.code for above in ancestors(region.code))


def city_of(code: str) -> str:
    """The prefecture-level division *code* lies in: itself for a city or the province, the parent for a county."""
    region = get_region(code)
    if region.level == "county" and region.parent is not None:
        return region.parent
    return region.code
