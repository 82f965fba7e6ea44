"""A report's text as the extractor reads it: front matter (outlet, date, title), then the
sentences worth reading, each with its offset in the original text. Lines in another script
(Urdu), headline lists ("You may also like", "Related") and other lines that are not prose
(no closing punctuation: headlines, captions) are set aside."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FRONT = re.compile(r"^(outlet|date|title|url)\s*:\s*(.*)$", re.IGNORECASE)
_INLINE_DATE = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\b\s*")
_SIDEBAR = re.compile(
    r"^\s*(you may also like|related( stories| news)?|read more|also read|trending|"
    r"most (popular|read)|recommended|more from|latest( news)?|see also)\s*:?\s*$",
    re.IGNORECASE,
)
HEADING_WORDS = 8  # a line set aside this short may head the paragraphs after it ("Bannu")
RESULT_LINE_WORDS = 4
_COUNT = re.compile(r"\d{1,3}(?:, ?\d{2,3})+|\d{4,}|\d+(?:\.\d+)?\s+(?:lakh|thousand)\b", re.I)
PROSE_WORDS = 14  # a line this long is prose even without a full stop (headlines are shorter)
_PROSE_END = re.compile(r"[.!?][\"'”’)\]]*\s*$")
_OTHER_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LETTER = re.compile(r"[^\W\d_]")
_ABBREVIATIONS = ("Mr", "Mrs", "Ms", "Dr", "No", "St", "Jr", "Sr", "vs", "Gen", "Lt", "Col", "Rs")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]*[A-Z0-9])")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offset of the sentence in the report's text
    paragraph: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """A span within the sentence as a span of the report."""
        return self.start + start, self.start + end


@dataclass
class Report:
    text: str
    outlet: str = ""
    date: str = ""
    title: str = ""
    url: str = ""
    sentences: list[Sentence] = field(default_factory=list)
    set_aside: list[tuple[int, str, str]] = field(default_factory=list)  # offset, why, line
    headings: dict[int, str] = field(default_factory=dict)  # line number -> a short heading


def read_report(text: str, outlet: str = "", date: str = "") -> Report:
    """Split a report into sentences, with front matter read and non-prose set aside.
    `outlet` and `date` given by the caller win over the front matter."""
    report = Report(text)
    offset = _front_matter(text, report)
    m = _INLINE_DATE.match(text, offset)
    if m:
        report.date = report.date or m.group(1)
        offset = m.end()
    report.outlet, report.date = outlet or report.outlet, date or report.date
    in_sidebar = False
    for number, (start, line) in enumerate(_lines(text, offset)):
        if not line.strip():
            continue
        if _SIDEBAR.match(line):
            in_sidebar = True
            report.set_aside.append((start, "sidebar", line))
            continue
        why = _not_prose(line)
        if why.startswith("not prose") and not in_sidebar and len(line.split()) <= HEADING_WORDS:
            report.headings[number] = line.strip()
        if why or (in_sidebar and not _prose(line)):
            report.set_aside.append((start, why or "sidebar", line))
            continue
        in_sidebar = False
        report.sentences += [
            Sentence(s, start + i, number) for i, s in _sentences(line) if s.strip()
        ]
    return report


def _front_matter(text: str, report: Report) -> int:
    """`key: value` lines at the top, up to a blank line; returns where the body starts."""
    offset = 0
    lines = text.splitlines(keepends=True)
    consumed = 0
    for line in lines:
        m = _FRONT.match(line.strip())
        if not m:
            break
        setattr(report, m.group(1).lower(), m.group(2).strip())
        consumed += len(line)
    if consumed and (consumed == len(text) or text[consumed:].startswith(("\n", "\r\n"))):
        offset = consumed
    elif consumed:
        report.outlet = report.date = report.title = report.url = ""  # not front matter
    return offset


def _lines(text: str, offset: int) -> list[tuple[int, str]]:
    out, position = [], offset
    for line in text[offset:].splitlines(keepends=True):
        out.append((position, line.rstrip("\r\n")))
        position += len(line)
    return out


def _not_prose(line: str) -> str:
    letters = _LETTER.findall(line)
    if letters and len(_OTHER_SCRIPT.findall(line)) / len(letters) > 0.3:
        return "other script"
    if not _prose(line) and not _result_line(line):
        return "not prose (a headline or caption)"
    return ""


def _result_line(line: str) -> bool:
    """A line with a count and a few words: a live-blog entry or a results list's line
    ("11:42 PM — X leads NA-62 with 40,112", "NA-57: X (PTI) 1,31,000; Y 98,000"), read though
    it does not end as a sentence does."""
    counts = len(_COUNT.findall(line)) or len(re.findall(r"\b\d+\b", line)) // 2
    return len(line.split()) >= RESULT_LINE_WORDS and counts > 0


def _prose(line: str) -> bool:
    """Ends as a sentence does, or ends in a closing quote, or is too long for a headline."""
    stripped = line.rstrip()
    return bool(
        _PROSE_END.search(stripped)
        or stripped.endswith(("”", '"', "’"))
        or len(stripped.split()) >= PROSE_WORDS
    )


def _sentences(line: str) -> list[tuple[int, str]]:
    out, start = [], 0
    for m in _SENTENCE_END.finditer(line):
        before = line[start : m.start()]
        last = re.search(r"(\b\w+)\.[\"'”’)]*$", before)
        if last and (last.group(1) in _ABBREVIATIONS or len(last.group(1)) == 1):
            continue  # "Mr. Khan", "D.I. Khan": not the end of a sentence
        out.append((start, before))
        start = m.end()
    out.append((start, line[start:]))
    return out


LOOKBACK = 200  # characters: every phrase read before a number is shorter


def tail(text: str, end: int) -> str:
    """The text just before `end`, from a word's start: patterns anchored at a number look
    this far back, so a sentence of thousands of numbers costs linear time, not quadratic."""
    start = max(0, end - LOOKBACK)
    if start:
        space = text.find(" ", start, end)
        start = space + 1 if space >= 0 else end
    return text[start:end]
