"""Hunan's administrative divisions (行政区划代码): complete, consistent, and navigable up and down."""

from __future__ import annotations

from collections import Counter

import msgspec
import pytest

from trading.errors import InvalidInput
from trading.regions import (
    CITIES,
    COUNTIES,
    FORMER_CODES,
    PROVINCE,
    REGIONS,
    Region,
    ancestors,
    children,
    full_name,
    get_region,
    is_within,
)

COUNTIES_PER_CITY = {
    "长沙市": 9,
    "株洲市": 9,
    "湘潭市": 5,
    "衡阳市": 12,
    "邵阳市": 12,
    "岳阳市": 9,
    "常德市": 9,
    "张家界市": 4,
    "益阳市": 6,
    "郴州市": 11,
    "永州市": 11,
    "怀化市": 12,
    "娄底市": 5,
    "湘西土家族苗族自治州": 8,
}


def test_the_province_has_14_prefecture_level_and_122_county_level_divisions() -> None:
    assert PROVINCE == Region(code="430000", name="湖南省", level="province", parent=None)
    assert len(CITIES) == 14
    assert len(COUNTIES) == 122
    assert len(REGIONS) == 1 + 14 + 122
    assert {city.name: len(children(city.code)) for city in CITIES} == COUNTIES_PER_CITY


def test_county_level_breakdown() -> None:
    kinds = Counter("autonomous county" if county.name.endswith("自治县") else county.name[-1] for county in COUNTIES)
    assert kinds == {"区": 36, "市": 19, "县": 60, "autonomous county": 7}


def test_tree_is_consistent_with_the_codes() -> None:
    for code, region in REGIONS.items():
        assert region.code == code
        assert len(code) == 6 and code.isdigit() and code.startswith("43")
        if region.level == "county":
            assert REGIONS[region.parent].level == "city"  # type: ignore[index]
            assert region.parent == code[:4] + "00"
            assert code[4:] != "00"
        elif region.level == "city":
            assert region.parent == "430000"
            assert code.endswith("00") and code[2:4] != "00"
    names_under_parent = Counter((region.parent, region.name) for region in REGIONS.values())
    assert max(names_under_parent.values()) == 1


@pytest.mark.parametrize(
    ("code", "name", "city"),
    [
        ("430723", "澧县", "常德市"),
        ("430703", "鼎城区", "常德市"),
        ("430702", "武陵区", "常德市"),
        ("430781", "津市市", "常德市"),
        ("431202", "鹤城区", "怀化市"),
        ("431228", "芷江侗族自治县", "怀化市"),
        ("430104", "岳麓区", "长沙市"),
        ("430103", "天心区", "长沙市"),
        ("430181", "浏阳市", "长沙市"),
        ("430112", "望城区", "长沙市"),
        ("430182", "宁乡市", "长沙市"),
        ("430212", "渌口区", "株洲市"),
        ("430582", "邵东市", "邵阳市"),
        ("431181", "祁阳市", "永州市"),
        ("431321", "双峰县", "娄底市"),
        ("433101", "吉首市", "湘西土家族苗族自治州"),
    ],
)
def test_known_counties(code: str, name: str, city: str) -> None:
    region = get_region(code)
    assert region.name == name
    assert region.level == "county"
    assert REGIONS[region.parent].name == city  # type: ignore[index]


def test_li_county_sits_under_changde() -> None:
    assert full_name("430723") == "湖南省常德市澧县"
    assert [region.name for region in ancestors("430723")] == ["湖南省", "常德市"]
    assert is_within("430723", "430700")
    assert is_within("430723", "430000")
    assert is_within("430723", "430723")
    assert not is_within("430723", "431200")
    assert not is_within("430700", "430723")


def test_names_and_ancestors_at_every_level() -> None:
    assert full_name("430000") == "湖南省"
    assert full_name("433100") == "湖南省湘西土家族苗族自治州"
    assert ancestors("430000") == []
    assert [region.code for region in ancestors("430700")] == ["430000"]


def test_children_are_in_code_order_and_counties_have_none() -> None:
    assert [city.code for city in children("430000")] == [city.code for city in CITIES]
    changde = [region.code for region in children("430700")]
    assert changde == sorted(changde)
    assert changde[:2] == ["430702", "430703"]
    assert children("430723") == []


def test_codes_with_surrounding_spaces_are_found() -> None:
    assert get_region(" 430723 ").name == "澧县"


@pytest.mark.parametrize("code", ["43072", "4307231", "43O723", "", "４３０７２３"])
def test_malformed_codes_are_refused(code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        get_region(code)
    assert caught.value.code == "unknown_region"
    assert "6位数字" in caught.value.message_zh


@pytest.mark.parametrize("code", ["110101", "430373", "430771", "430101"])
def test_divisions_outside_the_list_are_refused(code: str) -> None:
    # Beijing, a Xiangtan functional zone, a Changde management zone, and the obsolete "市辖区" entry.
    with pytest.raises(InvalidInput) as caught:
        get_region(code)
    assert caught.value.code == "unknown_region"
    assert code in caught.value.message_zh


def test_a_withdrawn_code_points_to_its_successor() -> None:
    with pytest.raises(InvalidInput) as caught:
        get_region("430124")
    assert caught.value.details == {"region_code": "430124", "current_code": "430182"}
    assert "宁乡市" in caught.value.message_zh
    for old, new in FORMER_CODES.items():
        assert old not in REGIONS
        assert REGIONS[new].level == "county"
        assert old[:4] == new[:4]


def test_lookups_refuse_unknown_codes() -> None:
    for lookup in (children, ancestors, full_name):
        with pytest.raises(InvalidInput):
            lookup("999999")
    with pytest.raises(InvalidInput):
        is_within("430723", "999999")


def test_region_round_trips_through_json() -> None:
    region = get_region("430723")
    encoded = msgspec.json.encode(region)
    assert msgspec.json.decode(encoded, type=Region) == region
    assert msgspec.json.decode(encoded) == {
        "code": "430723",
        "name": "澧县",
        "level": "county",
        "parent": "430700",
    }
