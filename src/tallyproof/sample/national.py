"""A national general election shaped like Pakistan's of 8 February 2024, for the election-night
simulator (`sample/night.py`): the five regions with their registered voters and turnout, the
266 National Assembly seats and 593 provincial ones under their real codes, districts in the
order of the 2023 delimitation, about twelve candidates a seat with names in Latin and Urdu
script, parties with their regional strength (the PTI-backed independents among them, PTI
having been denied its symbol), and the four contests postponed before polling day.

Everything comes from one seed. The structure and its numbers are cheap to build (a second
at 90,000 stations); the vote counts are not stored but drawn per station and contest when
asked for (`National.count`), so a night of 180,000 forms never holds them all at once."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tallyproof.ledger.keys import Signer
from tallyproof.sample.generator import split_total

NATIONAL_STATIONS = 90_000  # polling stations at full scale (the ECP listed about 90,700)
ELECTION_ID = "pk-ge-2024-sim"
DATE = "2024-02-08"
PTI = "PTI"
OTHERS = "IND"  # the weight of candidates nobody backs
_KEPT_KEYS = 4096


@dataclass(frozen=True)
class District:
    """A district (or a group of small ones), with its seats in each assembly and how the
    parties lean there compared with the region (multipliers of the region's strengths)."""

    name: str
    na_seats: int
    pa_seats: int
    lean: dict[str, float] = field(default_factory=dict)
    urban: bool = False


@dataclass(frozen=True)
class Region:
    """A province (or the capital territory): its assembly, registered voters, turnout and
    the parties' vote shares before any district's lean."""

    code: str
    name: str
    assembly: str | None  # provincial assembly code; Islamabad has none
    assembly_name: str
    voters: int
    turnout: float
    strength: dict[str, float]
    districts: tuple[District, ...]

    @property
    def na_seats(self) -> int:
        return sum(d.na_seats for d in self.districts)

    @property
    def pa_seats(self) -> int:
        return sum(d.pa_seats for d in self.districts)

    @property
    def fewest_stations(self) -> int:
        """Every seat needs a station, and each station votes in one seat of each assembly."""
        return sum(max(d.na_seats, d.pa_seats) for d in self.districts)


def _d(name: str, na: int, pa: int, urban: bool = False, **lean: float) -> District:
    return District(name, na, pa, {k.replace("_", "-"): v for k, v in lean.items()}, urban)


_GDA = {"GDA": 2.5}
_PASHTUN_BELT = {"JUI_F": 1.6, "PkMAP": 3.0, "ANP": 2.0, "BNP": 0.2, "NP": 0.2}
_BALOCH_SOUTH = {"BNP": 1.8, "NP": 2.0, "PkMAP": 0.0, "ANP": 0.0}
_BALOCH_PLAINS = {"PPP": 1.8, "BAP": 1.8, "PkMAP": 0.0, "ANP": 0.0}
_KARACHI = {"MQM_P": 14.0, "PTI": 3.2, "JI": 4.5, "PPP": 0.45, "TLP": 2.0, "GDA": 0.1}

# National Assembly seats are numbered in this order: KP 1-45, Islamabad 46-48, Punjab 49-189,
# Sindh 190-250, Balochistan 251-266; provincial seats in district order within each region.
REGIONS: tuple[Region, ...] = (
    Region(
        "KP",
        "Khyber Pakhtunkhwa",
        "PK",
        "Provincial Assembly of Khyber Pakhtunkhwa",
        21_900_000,
        0.395,
        {
            "PTI": 0.45,
            "JUI-F": 0.13,
            "PML-N": 0.08,
            "ANP": 0.06,
            "PPP": 0.05,
            "JI": 0.05,
            "PTI-P": 0.02,
            "TLP": 0.02,
            OTHERS: 0.05,
        },
        (
            _d("Chitral", 1, 2),
            _d("Swat", 3, 8),
            _d("Upper Dir", 1, 3, JI=3.0),
            _d("Lower Dir", 2, 5, JI=3.0),
            _d("Bajaur", 1, 4, JI=2.5),
            _d("Malakand", 1, 2),
            _d("Buner", 1, 3),
            _d("Shangla", 1, 3, PML_N=2.0),
            _d("Kohistan", 1, 3, JUI_F=1.5),
            _d("Battagram", 1, 2),
            _d("Mansehra", 2, 5, PML_N=2.5),
            _d("Abbottabad", 2, 4, PML_N=2.0),
            _d("Haripur", 1, 3, PML_N=1.8),
            _d("Swabi", 2, 5, ANP=1.8),
            _d("Mardan", 3, 8, ANP=2.0),
            _d("Charsadda", 2, 5, ANP=2.5, JUI_F=1.3),
            _d("Mohmand", 1, 2),
            _d("Khyber", 1, 3),
            _d("Peshawar", 5, 14, True, PTI=1.2),
            _d("Nowshera", 2, 5, PTI_P=8.0),
            _d("Kohat", 1, 3),
            _d("Hangu", 1, 1),
            _d("Kurram", 1, 2, MWM=4.0),
            _d("Karak", 1, 2),
            _d("Bannu", 1, 4, JUI_F=2.0),
            _d("North Waziristan", 1, 2, JUI_F=1.8),
            _d("Lakki Marwat", 1, 2, JUI_F=2.0),
            _d("South Waziristan", 2, 3, JUI_F=1.8),
            _d("Dera Ismail Khan", 2, 7, JUI_F=2.0),
        ),
    ),
    Region(
        "ICT",
        "Islamabad Capital Territory",
        None,
        "",
        1_080_000,
        0.54,
        {
            "PTI": 0.45,
            "PML-N": 0.35,
            "PPP": 0.05,
            "JI": 0.03,
            "TLP": 0.04,
            "IPP": 0.02,
            OTHERS: 0.04,
        },
        (_d("Islamabad", 3, 0, True),),
    ),
    Region(
        "PUNJAB",
        "Punjab",
        "PP",
        "Provincial Assembly of the Punjab",
        73_000_000,
        0.516,
        {
            "PTI": 0.35,
            "PML-N": 0.34,
            "TLP": 0.065,
            "PPP": 0.05,
            "IPP": 0.02,
            "PML-Q": 0.015,
            "JI": 0.02,
            "JUI-F": 0.01,
            "MWM": 0.005,
            OTHERS: 0.07,
        },
        (
            _d("Attock", 2, 5),
            _d("Murree", 1, 1),
            _d("Rawalpindi", 6, 14, True, PTI=1.2),
            _d("Chakwal", 2, 4, PML_Q=2.0),
            _d("Jhelum", 2, 3),
            _d("Gujrat", 3, 8, PML_Q=6.0),
            _d("Wazirabad", 1, 2),
            _d("Hafizabad", 1, 3),
            _d("Mandi Bahauddin", 2, 4),
            _d("Sialkot", 5, 11, PML_N=1.2),
            _d("Narowal", 2, 5, PML_N=1.3),
            _d("Gujranwala", 6, 13, True, PML_N=1.2),
            _d("Sargodha", 5, 9),
            _d("Khushab", 2, 3),
            _d("Mianwali", 2, 4, PTI=1.6),
            _d("Bhakkar", 2, 4),
            _d("Chiniot", 2, 4),
            _d("Faisalabad", 10, 20, True, PTI=1.1),
            _d("Toba Tek Singh", 3, 6),
            _d("Jhang", 3, 7),
            _d("Nankana Sahib", 2, 4),
            _d("Sheikhupura", 4, 9),
            _d("Lahore", 14, 30, True, PML_N=1.3, IPP=2.5, PPP=0.5),
            _d("Kasur", 4, 9, PML_N=1.1),
            _d("Okara", 4, 8),
            _d("Pakpattan", 2, 5),
            _d("Sahiwal", 3, 7),
            _d("Khanewal", 4, 8),
            _d("Multan", 6, 13, True, PPP=2.2, IPP=2.0),
            _d("Lodhran", 2, 4, IPP=2.0),
            _d("Vehari", 4, 8),
            _d("Bahawalnagar", 4, 8),
            _d("Bahawalpur", 5, 11, PPP=1.5),
            _d("Rahim Yar Khan", 6, 13, PPP=2.8),
            _d("Muzaffargarh", 6, 12, PPP=2.2),
            _d("Layyah", 2, 5),
            _d("Dera Ghazi Khan", 4, 7, PPP=1.4),
            _d("Rajanpur", 3, 6, PPP=1.6),
        ),
    ),
    Region(
        "SINDH",
        "Sindh",
        "PS",
        "Provincial Assembly of Sindh",
        27_000_000,
        0.437,
        {
            "PPP": 0.50,
            "GDA": 0.07,
            "PTI": 0.08,
            "JUI-F": 0.04,
            "MQM-P": 0.02,
            "JI": 0.02,
            "TLP": 0.03,
            "PML-N": 0.02,
            OTHERS: 0.05,
        },
        (
            _d("Jacobabad", 1, 3),
            _d("Kashmore", 1, 3),
            _d("Shikarpur", 2, 3, JUI_F=1.8),
            _d("Larkana", 2, 4, JUI_F=1.5),
            _d("Qambar Shahdadkot", 2, 4),
            _d("Ghotki", 2, 4, **_GDA),
            _d("Sukkur", 2, 4, True, MQM_P=2.0),
            _d("Khairpur", 3, 6, **_GDA),
            _d("Naushahro Feroze", 2, 4, **_GDA),
            _d("Shaheed Benazirabad", 2, 4),
            _d("Sanghar", 3, 6, GDA=3.0),
            _d("Mirpur Khas", 2, 4, True, MQM_P=3.0),
            _d("Umerkot", 1, 3),
            _d("Tharparkar", 2, 4),
            _d("Matiari", 1, 2),
            _d("Tando Allahyar", 1, 2),
            _d("Hyderabad", 3, 6, True, MQM_P=12.0, PTI=2.0, PPP=0.7),
            _d("Tando Muhammad Khan", 1, 2),
            _d("Badin", 2, 5, GDA=1.5),
            _d("Sujawal", 1, 2),
            _d("Thatta", 1, 2),
            _d("Dadu", 2, 4),
            _d("Jamshoro", 1, 2),
            _d("Karachi Malir", 3, 7, True, **_KARACHI),
            _d("Karachi Korangi", 3, 7, True, **_KARACHI),
            _d("Karachi East", 5, 11, True, **_KARACHI),
            _d("Karachi South", 2, 4, True, **_KARACHI),
            _d("Karachi Keamari", 2, 4, True, **_KARACHI),
            _d("Karachi Central", 4, 9, True, **_KARACHI),
            _d("Karachi West", 2, 5, True, **_KARACHI),
        ),
    ),
    Region(
        "BALOCHISTAN",
        "Balochistan",
        "PB",
        "Provincial Assembly of Balochistan",
        5_300_000,
        0.429,
        {
            "JUI-F": 0.17,
            "PPP": 0.14,
            "PML-N": 0.13,
            "BAP": 0.10,
            "BNP": 0.10,
            "NP": 0.07,
            "PkMAP": 0.04,
            "ANP": 0.03,
            "PTI": 0.07,
            "JI": 0.02,
            OTHERS: 0.09,
        },
        (
            _d("Zhob", 1, 3, **_PASHTUN_BELT),
            _d("Loralai", 1, 4, **_PASHTUN_BELT),
            _d("Sibi", 1, 4, **_BALOCH_PLAINS),
            _d("Nasirabad", 1, 3, **_BALOCH_PLAINS),
            _d("Jaffarabad", 1, 3, **_BALOCH_PLAINS),
            _d("Kachhi", 1, 3, **_BALOCH_PLAINS),
            _d("Pishin", 1, 3, **_PASHTUN_BELT),
            _d("Killa Abdullah", 1, 3, **_PASHTUN_BELT),
            _d("Quetta", 3, 9, True, PkMAP=1.5, PTI=1.4, MWM=3.0),
            _d("Mastung", 1, 3, **_BALOCH_SOUTH),
            _d("Khuzdar", 1, 3, **_BALOCH_SOUTH),
            _d("Kharan", 1, 4, **_BALOCH_SOUTH),
            _d("Kech", 1, 4, **_BALOCH_SOUTH),
            _d("Gwadar", 1, 2, **_BALOCH_SOUTH),
        ),
    ),
)

PARTIES: tuple[tuple[str, str], ...] = (
    ("PML-N", "Pakistan Muslim League (N)"),
    ("PTI", "Pakistan Tehreek-e-Insaf"),
    ("PPP", "Pakistan Peoples Party Parliamentarians"),
    ("MQM-P", "Muttahida Qaumi Movement Pakistan"),
    ("JUI-F", "Jamiat Ulema-e-Islam (F)"),
    ("JI", "Jamaat-e-Islami Pakistan"),
    ("TLP", "Tehreek-e-Labbaik Pakistan"),
    ("IPP", "Istehkam-e-Pakistan Party"),
    ("PML-Q", "Pakistan Muslim League (Q)"),
    ("BAP", "Balochistan Awami Party"),
    ("BNP", "Balochistan National Party (Mengal)"),
    ("NP", "National Party"),
    ("PkMAP", "Pashtunkhwa Milli Awami Party"),
    ("ANP", "Awami National Party"),
    ("PTI-P", "Pakistan Tehreek-e-Insaf Parliamentarians"),
    ("GDA", "Grand Democratic Alliance"),
    ("MWM", "Majlis Wahdat-e-Muslimeen"),
)
MAJOR = frozenset({"PTI", "PML-N", "PPP", "MQM-P", "JUI-F"})  # they stand wherever they have votes

# The four contests whose polls were postponed (a candidate died, or could not campaign safely).
POSTPONED: dict[str, str] = {
    "NA-8": "a candidate was killed in an attack on his campaign; polling postponed for security",
    "PK-22": "a candidate was killed in an attack on his campaign; polling postponed for security",
    "PK-91": "death of a candidate before polling day",
    "PP-266": "death of a candidate before polling day",
}

# Common Pakistani given names and surnames, each with its Urdu spelling.
GIVEN: dict[str, str] = {
    "Muhammad": "محمد",
    "Ahmed": "احمد",
    "Ali": "علی",
    "Hassan": "حسن",
    "Hussain": "حسین",
    "Imran": "عمران",
    "Asif": "آصف",
    "Tariq": "طارق",
    "Khalid": "خالد",
    "Shahid": "شاہد",
    "Nawaz": "نواز",
    "Zahid": "زاہد",
    "Sajid": "ساجد",
    "Waseem": "وسیم",
    "Naveed": "نوید",
    "Faisal": "فیصل",
    "Usman": "عثمان",
    "Umar": "عمر",
    "Hamza": "حمزہ",
    "Bilal": "بلال",
    "Kamran": "کامران",
    "Junaid": "جنید",
    "Irfan": "عرفان",
    "Javed": "جاوید",
    "Rashid": "راشد",
    "Saleem": "سلیم",
    "Akram": "اکرم",
    "Aslam": "اسلم",
    "Aamir": "عامر",
    "Arshad": "ارشد",
    "Nadeem": "ندیم",
    "Shafiq": "شفیق",
    "Raza": "رضا",
    "Abbas": "عباس",
    "Iqbal": "اقبال",
    "Riaz": "ریاض",
    "Ghulam": "غلام",
    "Afzal": "افضل",
    "Zubair": "زبیر",
    "Yousaf": "یوسف",
    "Ayub": "ایوب",
    "Saad": "سعد",
    "Fahad": "فہد",
    "Mushtaq": "مشتاق",
    "Ejaz": "اعجاز",
    "Habib": "حبیب",
    "Qasim": "قاسم",
    "Shoaib": "شعیب",
    "Anwar": "انور",
    "Mehmood": "محمود",
    "Akbar": "اکبر",
    "Nasir": "ناصر",
    "Rafiq": "رفیق",
    "Ashfaq": "اشفاق",
    "Sarfraz": "سرفراز",
    "Mumtaz": "ممتاز",
    "Zafar": "ظفر",
    "Mansoor": "منصور",
    "Noor": "نور",
    "Wali": "ولی",
    "Amanullah": "امان اللہ",
    "Saifullah": "سیف اللہ",
    "Hidayatullah": "ہدایت اللہ",
    "Inayatullah": "عنایت اللہ",
    "Abdul Rauf": "عبدالرؤف",
    "Abdul Ghafoor": "عبدالغفور",
    "Abdul Hameed": "عبدالحمید",
    "Abdul Qadir": "عبدالقادر",
    "Abdul Wahid": "عبدالواحد",
}
GIVEN_WOMEN: dict[str, str] = {
    "Ayesha": "عائشہ",
    "Fatima": "فاطمہ",
    "Maryam": "مریم",
    "Zainab": "زینب",
    "Sadia": "سعدیہ",
    "Nusrat": "نصرت",
    "Shazia": "شازیہ",
    "Rubina": "روبینہ",
    "Nighat": "نگہت",
    "Samina": "ثمینہ",
    "Farzana": "فرزانہ",
    "Asma": "عاصمہ",
    "Saima": "صائمہ",
    "Nazia": "نازیہ",
    "Shagufta": "شگفتہ",
}
HONORIFIC: dict[str, str] = {
    "Rana": "رانا",
    "Sardar": "سردار",
    "Mian": "میاں",
    "Syed": "سید",
    "Makhdoom": "مخدوم",
    "Pir": "پیر",
    "Hafiz": "حافظ",
    "Maulana": "مولانا",
    "Chaudhry": "چوہدری",
    "Malik": "ملک",
}
_COMMON_SURNAMES = {"Khan": "خان", "Qureshi": "قریشی", "Siddiqui": "صدیقی", "Sheikh": "شیخ"}
SURNAMES: dict[str, dict[str, str]] = {  # by region code
    "PUNJAB": {
        **_COMMON_SURNAMES,
        "Chaudhry": "چوہدری",
        "Malik": "ملک",
        "Butt": "بٹ",
        "Awan": "اعوان",
        "Gondal": "گوندل",
        "Cheema": "چیمہ",
        "Bajwa": "باجوہ",
        "Warraich": "وڑائچ",
        "Gujjar": "گجر",
        "Arain": "آرائیں",
        "Dogar": "ڈوگر",
        "Tarar": "تارڑ",
        "Khokhar": "کھوکھر",
        "Sial": "سیال",
        "Bhatti": "بھٹی",
        "Niazi": "نیازی",
        "Gilani": "گیلانی",
        "Hashmi": "ہاشمی",
        "Janjua": "جنجوعہ",
        "Kiyani": "کیانی",
    },
    "ICT": {
        **_COMMON_SURNAMES,
        "Abbasi": "عباسی",
        "Kiyani": "کیانی",
        "Awan": "اعوان",
        "Janjua": "جنجوعہ",
        "Qazi": "قاضی",
    },
    "SINDH": {
        **_COMMON_SURNAMES,
        "Soomro": "سومرو",
        "Jatoi": "جتوئی",
        "Mahar": "مہر",
        "Junejo": "جونیجو",
        "Talpur": "ٹالپر",
        "Memon": "میمن",
        "Bhutto": "بھٹو",
        "Shah": "شاہ",
        "Abro": "ابڑو",
        "Chandio": "چانڈیو",
        "Baig": "بیگ",
        "Rizvi": "رضوی",
        "Zaidi": "زیدی",
        "Naqvi": "نقوی",
        "Ansari": "انصاری",
    },
    "KP": {
        **_COMMON_SURNAMES,
        "Yousafzai": "یوسفزئی",
        "Afridi": "آفریدی",
        "Khattak": "خٹک",
        "Wazir": "وزیر",
        "Marwat": "مروت",
        "Mohmand": "مہمند",
        "Shinwari": "شنواری",
        "Orakzai": "اورکزئی",
        "Bangash": "بنگش",
        "Durrani": "درانی",
        "Swati": "سواتی",
        "Tanoli": "تنولی",
        "Gandapur": "گنڈاپور",
        "Kundi": "کنڈی",
    },
    "BALOCHISTAN": {
        "Khan": "خان",
        "Baloch": "بلوچ",
        "Mengal": "مینگل",
        "Bugti": "بگٹی",
        "Marri": "مری",
        "Raisani": "رئیسانی",
        "Jamali": "جمالی",
        "Zehri": "زہری",
        "Rind": "رند",
        "Magsi": "مگسی",
        "Kakar": "کاکڑ",
        "Achakzai": "اچکزئی",
        "Mandokhail": "مندوخیل",
        "Tareen": "ترین",
        "Jogezai": "جوگیزئی",
    },
}

_BUILDINGS = (
    "Government Boys Primary School",
    "Government Girls Primary School",
    "Government Boys High School",
    "Government Girls High School",
    "Government Boys Middle School",
    "Government Girls Elementary School",
    "Government Degree College",
    "Basic Health Unit",
    "Union Council Office",
    "Community Centre",
)
_ROMAN = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)


def roman(n: int) -> str:
    out = []
    for value, letters in _ROMAN:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


def allocate(total: int, weights: Sequence[float], floors: Sequence[int]) -> list[int]:
    """Split `total` in proportion to `weights`, each part at least its floor: the parts that
    would fall below it are held at it and the rest shared again among the others. The parts
    sum to `total`, or to the floors' sum when that is larger (a part of no weight is its
    floor, and when every weight is 0 the parts are the floors)."""
    parts = list(floors)
    free = [i for i in range(len(weights)) if weights[i] > 0]
    remaining = max(total, sum(floors)) - sum(parts) + sum(parts[i] for i in free)
    while free:
        share = split_total(remaining, [weights[i] for i in free])
        held = [i for i, s in zip(free, share, strict=True) if s < floors[i]]
        if not held:
            for i, s in zip(free, share, strict=True):
                parts[i] = s
            return parts
        remaining -= sum(floors[i] for i in held)
        free = [i for i in free if i not in held]
    return parts


@dataclass(frozen=True, slots=True)
class Station:
    """What the night needs to know of a station beyond the structure."""

    id: str
    region: str
    district: str
    contests: tuple[str, ...]
    registered: int
    turnout: float  # the station's expected share of voters casting a ballot


@dataclass(frozen=True, slots=True)
class ContestPlan:
    """A contest with each candidate's expected share of its valid votes."""

    code: str
    assembly: str
    name: str
    region: str
    district: str
    candidates: tuple[str, ...]
    shares: tuple[float, ...]
    postponed: str = ""  # the reason, if postponed


@dataclass(frozen=True, slots=True)
class Count:
    """One contest's count at one station, as a presiding officer's Form 45 states it."""

    votes: dict[str, int]
    rejected: int
    polled: int

    @property
    def valid(self) -> int:
        return sum(self.votes.values())


@dataclass
class National:
    """The election: its structure document (signed by `admin`), and the model the counts are
    drawn from."""

    seed: int
    election_id: str
    document: dict[str, Any]
    contests: dict[str, ContestPlan]
    stations: tuple[Station, ...]
    agent_parties: dict[str, tuple[str, ...]]  # district -> parties whose agents copy forms
    secret: str = field(repr=False, default="")
    _keys: dict[str, Signer] = field(repr=False, default_factory=dict)

    @cached_property
    def admin(self) -> Signer:
        return self.key(f"{self.election_id}/admin")

    def key(self, name: str) -> Signer:
        """The key called `name`, derived from the seed: every run signs with the same keys.
        The latest few thousand are kept (a station's forms come minutes apart)."""
        signer = self._keys.pop(name, None) or Signer.from_seed_text(name, f"{self.secret}:{name}")
        self._keys[name] = signer
        if len(self._keys) > _KEPT_KEYS:
            del self._keys[next(iter(self._keys))]
        return signer

    @property
    def registered(self) -> int:
        return sum(s.registered for s in self.stations)

    @cached_property
    def station_index(self) -> dict[str, Station]:
        return {s.id: s for s in self.stations}

    @cached_property
    def stations_of(self) -> dict[str, tuple[str, ...]]:
        """Each contest's stations, in structure order."""
        out: dict[str, list[str]] = {code: [] for code in self.contests}
        for s in self.stations:
            for code in s.contests:
                out[code].append(s.id)
        return {code: tuple(ids) for code, ids in out.items()}

    def _polled(self, station: str, round_: int) -> int:
        """The voters who came to the station: one draw for all its contests, since each
        voter takes one ballot for every contest the station serves."""
        s = self.station_index[station]
        rng = random.Random(f"{self.secret}:turnout:{station}:{round_}")
        turnout = min(0.95, max(0.03, s.turnout * math.exp(rng.gauss(0.0, 0.06))))
        return min(s.registered, round(s.registered * turnout))

    def count(self, station: str, contest: str, round_: int = 0) -> Count:
        """The count of `contest` at `station`, drawn from the station's own seed: ballots
        polled about the station's expected turnout (the same voters for each of its
        contests, a few apart), shares about the contest's with local noise, 1-4 % of
        ballots rejected. `round_` > 0 is a later poll (a re-poll) at the station."""
        plan = self.contests[contest]
        rng = random.Random(f"{self.secret}:count:{station}:{contest}:{round_}")
        polled = self._polled(station, round_)
        polled -= rng.randint(0, polled // 500)  # a voter or two left with one ballot
        rejected = round(polled * rng.uniform(0.01, 0.04))
        weights = [w * math.exp(rng.gauss(0.0, 0.35)) for w in plan.shares]
        votes = split_total(polled - rejected, weights)
        return Count(dict(zip(plan.candidates, votes, strict=True)), rejected, polled)


def build_national(
    seed: int = 2024, stations: int = NATIONAL_STATIONS, election_id: str = ELECTION_ID
) -> National:
    """The election at `stations` polling stations (at least 596: every seat needs one),
    shared among the regions by registered voters; every contest is kept at any scale."""
    return _Builder(seed, stations, election_id).build()


class _Builder:
    def __init__(self, seed: int, stations: int, election_id: str) -> None:
        self.seed, self.total, self.eid = seed, stations, election_id
        self.rng = random.Random(f"tallyproof-national:{seed}")
        self.secret = f"tallyproof-simulate:{seed}:{election_id}"
        self.contests: dict[str, ContestPlan] = {}
        self.contest_docs: list[dict[str, Any]] = []
        self.stations: list[Station] = []
        self.station_docs: list[dict[str, Any]] = []
        self.agents: dict[str, tuple[str, ...]] = {}
        self.na = 0
        self.pa: dict[str, int] = {}

    def build(self) -> National:
        national_share = [r.voters for r in REGIONS]
        per_region = allocate(self.total, national_share, [r.fewest_stations for r in REGIONS])
        for region, n in zip(REGIONS, per_region, strict=True):
            mean = region.voters / (NATIONAL_STATIONS * region.voters / sum(national_share))
            self._region(region, n, mean)
        national = National(
            self.seed,
            self.eid,
            {},
            self.contests,
            tuple(self.stations),
            self.agents,
            self.secret,
        )
        national.document = self._document(national.admin.public.b64)
        return national

    def _document(self, admin_key: str) -> dict[str, Any]:
        assemblies = [{"code": "NA", "name": "National Assembly", "level": "national"}]
        assemblies += [
            {"code": r.assembly, "name": r.assembly_name, "level": "provincial"}
            for r in REGIONS
            if r.assembly
        ]
        return {
            "election": {
                "id": self.eid,
                "name": "General election 2024 (simulated)",
                "kind": "general",
                "date": DATE,
            },
            "parties": [{"code": c, "name": n} for c, n in PARTIES],
            "assemblies": assemblies,
            "contests": self.contest_docs,
            "stations": self.station_docs,
            "admin_key": admin_key,
        }

    def _region(self, region: Region, n: int, mean: float) -> None:
        weights = [float(d.na_seats) for d in region.districts]
        floors = [max(d.na_seats, d.pa_seats) for d in region.districts]
        for district, k in zip(region.districts, allocate(n, weights, floors), strict=True):
            self._district(region, district, k, mean)

    def _district(self, region: Region, district: District, n: int, mean: float) -> None:
        strength = self._strength(region, district)
        self.agents[district.name] = tuple(
            p for p, _ in sorted(strength.items(), key=lambda kv: -kv[1]) if p != OTHERS
        )[:3]
        na_codes = [
            self._contest("NA", region, district, i, strength) for i in range(district.na_seats)
        ]
        pa_codes = [
            self._contest(str(region.assembly), region, district, i, strength)
            for i in range(district.pa_seats)
        ]
        na_of = self._blocks(n, len(na_codes))
        pa_of = self._blocks(n, len(pa_codes)) if pa_codes else [None] * n
        numbers: dict[str, int] = {}
        for i in range(n):
            na = na_codes[na_of[i]]
            served = [na] if pa_of[i] is None else [na, pa_codes[pa_of[i]]]
            numbers[na] = numbers.get(na, 0) + 1
            self._station(region, district, served, numbers[na], mean)

    def _blocks(self, n: int, seats: int) -> list[int]:
        """Which seat each of a district's `n` stations votes in: contiguous blocks of
        uneven size, every seat at least one station."""
        sizes = allocate(n, [self.rng.uniform(0.8, 1.2) for _ in range(seats)], [1] * seats)
        return [seat for seat, size in enumerate(sizes) for _ in range(size)]

    def _strength(self, region: Region, district: District) -> dict[str, float]:
        out = {p: w * district.lean.get(p, 1.0) for p, w in region.strength.items()}
        for party, factor in district.lean.items():
            if party not in out and factor > 1:
                out[party] = 0.01 * factor
        return {p: w for p, w in out.items() if w > 0}

    def _contest(
        self, assembly: str, region: Region, district: District, i: int, strength: dict[str, float]
    ) -> str:
        if assembly == "NA":
            self.na += 1
            number, seats = self.na, district.na_seats
        else:
            self.pa[assembly] = number = self.pa.get(assembly, 0) + 1
            seats = district.pa_seats
        code = f"{assembly}-{number}"
        name = f"{district.name}-{roman(i + 1)}" if seats > 1 else district.name
        ids, names, shares = self._candidates(code, region, strength)
        self.contests[code] = ContestPlan(
            code, assembly, name, region.code, district.name, ids, shares, POSTPONED.get(code, "")
        )
        self.contest_docs.append(
            {"code": code, "assembly": assembly, "name": name, "candidates": names}
        )
        return code

    def _candidates(
        self, code: str, region: Region, strength: dict[str, float]
    ) -> tuple[tuple[str, ...], list[dict[str, Any]], tuple[float, ...]]:
        """About twelve candidates: the parties that stand here (the PTI-backed independent
        always), each with the district's strength times a local swing, and independents
        sharing what is left."""
        rng = self.rng
        sides: list[tuple[str, float]] = []
        for party, weight in sorted(strength.items()):
            if party == OTHERS:
                continue
            if party in MAJOR or rng.random() < 0.75:
                sides.append((party, weight * math.exp(rng.gauss(0.0, 0.4))))
        others = max(1, min(22, round(rng.gauss(12.0, 3.0))) - len(sides))
        pool = strength.get(OTHERS, 0.05)
        spread = [rng.gammavariate(0.6, 1.0) for _ in range(others)]
        sides += [(OTHERS, pool * s / sum(spread)) for s in spread]
        people: list[tuple[str, str, str, float]] = []  # latin, urdu, side, share
        for side, share in sides:
            latin, urdu = self._name(region)
            people.append((latin, urdu, side, share))
        people.sort(key=lambda p: p[0])
        ids: list[str] = []
        docs: list[dict[str, Any]] = []
        for latin, urdu, side, _ in people:
            cid = _unique(f"{code}/{_slug(latin)}", ids)
            ids.append(cid)
            doc: dict[str, Any] = {"id": cid, "name": latin, "name_ur": urdu}
            if side == PTI:
                doc["backed_by"] = PTI
            elif side != OTHERS:
                doc["party"] = side
            docs.append(doc)
        total = sum(p[3] for p in people)
        return tuple(ids), docs, tuple(p[3] / total for p in people)

    def _name(self, region: Region) -> tuple[str, str]:
        """A full name, Latin and Urdu: an honorific now and then, one or two given names and
        a surname common in the region; one candidate in twelve a woman."""
        rng = self.rng
        surnames = SURNAMES[region.code]
        surname = rng.choice(sorted(surnames))
        if rng.random() < 1 / 12:
            given = rng.choice(sorted(GIVEN_WOMEN))
            return f"{given} {surname}", f"{GIVEN_WOMEN[given]} {surnames[surname]}"
        parts = [rng.choice(sorted(GIVEN))]
        if rng.random() < 0.4:
            parts.append(rng.choice(sorted(g for g in GIVEN if g != parts[0])))
        if rng.random() < 0.25:
            parts.insert(0, rng.choice(sorted(h for h in HONORIFIC if h != surname)))
        urdu = [HONORIFIC.get(p) or GIVEN[p] for p in parts]
        return " ".join([*parts, surname]), " ".join([*urdu, surnames[surname]])

    def _station(
        self, region: Region, district: District, served: list[str], number: int, mean: float
    ) -> None:
        rng = self.rng
        sid = f"{served[0]}-{number:03d}"
        registered = max(150, round(mean * math.exp(rng.gauss(-0.06, 0.35))))
        turnout = region.turnout * (0.9 if district.urban else 1.02)
        turnout *= math.exp(rng.gauss(0.0, 0.16))
        kind = rng.choice(("male", "female", "combined", "combined"))
        building = rng.choice(_BUILDINGS)
        name = (
            f"{building} No. {rng.randint(1, 12)}, Union Council {rng.randint(1, 60)}, "
            f"{district.name} ({kind})"
        )
        self.stations.append(
            Station(sid, region.code, district.name, tuple(served), registered, turnout)
        )
        self.station_docs.append(
            {
                "id": sid,
                "name": name,
                "contests": served,
                "registered_voters": registered,
                "region": district.name,
            }
        )


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _unique(cid: str, taken: Sequence[str]) -> str:
    n, out = 1, cid
    while out in taken:
        n += 1
        out = f"{cid}-{n}"
    return out
