"""Vocabulary of the synthetic data: Chinese names, place names, provinces and departments.

Everything here is made up from common characters; no real person is described. Lists are tuples so
that their order (and hence every generated file) is fixed.
"""

from __future__ import annotations

import numpy as np

#: Common surnames, most frequent first, with rough relative weights (weights only shape the mix).
SURNAMES: tuple[str, ...] = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
SURNAME_WEIGHTS = np.linspace(3.0, 0.3, len(SURNAMES))
SURNAME_WEIGHTS = SURNAME_WEIGHTS / SURNAME_WEIGHTS.sum()

#: Characters common in given names.
GIVEN: tuple[str, ...] = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁龙林欣佳晨蕾琳雪倩"
    "婷文博志国建海波鑫慧颖琪晓东亮峰鸿飞冰梅兰丹瑶怡然思远新春晖振宏德荣立成才金秋阳光永胜"
)

#: Provinces (GB/T 2260 two-digit code, letter code, name). Letter codes become unit codes.
PROVINCES: tuple[tuple[str, str, str], ...] = (
    ("37", "SD", "山东省"), ("11", "BJ", "北京市"), ("12", "TJ", "天津市"), ("13", "HE", "河北省"),
    ("14", "SX", "山西省"), ("15", "NM", "内蒙古自治区"), ("21", "LN", "辽宁省"), ("22", "JL", "吉林省"),
    ("23", "HL", "黑龙江省"), ("31", "SH", "上海市"), ("32", "JS", "江苏省"), ("33", "ZJ", "浙江省"),
    ("34", "AH", "安徽省"), ("35", "FJ", "福建省"), ("36", "JX", "江西省"), ("41", "HA", "河南省"),
    ("42", "HB", "湖北省"), ("43", "HN", "湖南省"), ("44", "GD", "广东省"), ("45", "GX", "广西壮族自治区"),
    ("46", "HI", "海南省"), ("50", "CQ", "重庆市"), ("51", "SC", "四川省"), ("52", "GZ", "贵州省"),
    ("53", "YN", "云南省"), ("54", "XZ", "西藏自治区"), ("61", "SN", "陕西省"), ("62", "GS", "甘肃省"),
    ("63", "QH", "青海省"), ("64", "NX", "宁夏回族自治区"), ("65", "XJ", "新疆维吾尔自治区"),
)

#: Syllables of made-up place names (first + second character).
PLACE_FIRST: tuple[str, ...] = tuple("东西南北安平永长新清临宁丰泰华兴高金龙云青白石仁德昌太广阳武定文")
PLACE_SECOND: tuple[str, ...] = tuple("阳安宁平城山江河川州源泉原陵丘林溪水亭台海岭口滨乡")
COUNTY_SUFFIX: tuple[str, ...] = ("县", "县", "县", "区", "市")

#: The demo's named units (province → city → county), so the demo reads like a real office.
DEMO_UNITS: tuple[tuple[str, str, str], ...] = (
    ("SD", "山东省人民检察院", "province"),
    ("SD-JN", "济南市人民检察院", "city"),
    ("SD-JN-LC", "济南市历城区人民检察院", "county"),
)

#: Departments of a procuratorate after the 2019 reform, in the order units of growing size have them:
#: (dept_code, dept_name, kind). kind: case (检察业务部门), police, admin.
DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("BGS", "办公室", "admin"),
    ("ZZB", "政治部", "admin"),
    ("JC1", "第一检察部", "case"),
    ("JC2", "第二检察部", "case"),
    ("KGS", "控告申诉检察部", "case"),
    ("JC3", "第三检察部", "case"),
    ("JWD", "检务督察部", "admin"),
    ("AGB", "案件管理部", "admin"),
    ("JC4", "第四检察部", "case"),
    ("JC5", "第五检察部", "case"),
    ("SFJ", "司法警察支队", "police"),
    ("JSB", "检察技术信息部", "admin"),
    ("YJS", "法律政策研究室", "admin"),
    ("JC6", "第六检察部", "case"),
    ("JC7", "第七检察部", "case"),
    ("JC8", "第八检察部", "case"),
    ("JHC", "计划财务装备部", "admin"),
    ("JGD", "机关党委", "admin"),
)


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """n Chinese names (surname + one or two given characters), vectorized."""
    s = np.asarray(SURNAMES)[rng.choice(len(SURNAMES), size=n, p=SURNAME_WEIGHTS)]
    g1 = np.asarray(GIVEN)[rng.integers(0, len(GIVEN), size=n)]
    g2 = np.asarray(GIVEN)[rng.integers(0, len(GIVEN), size=n)]
    two = rng.random(n) < 0.7
    return np.char.add(np.char.add(s, g1), np.where(two, g2, ""))


def place_name(rng: np.random.Generator) -> str:
    """A made-up two-character place name."""
    return PLACE_FIRST[rng.integers(len(PLACE_FIRST))] + PLACE_SECOND[rng.integers(len(PLACE_SECOND))]
