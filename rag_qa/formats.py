"""Formats: one file's bytes → cleaned ``Article`` records (or ``Problem`` notes).

.txt (first non-empty line is the title), .md, .html (its title and publication date), .json / .jsonl
article objects (SaudiNewsNet fields, or ``text``; SQuAD files give one article per paragraph).
Articles get stable ids from their source and a hash of their content.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from .boilerplate import article_line
from .records import Article, Problem

MAX_TITLE_CHARS = 300
MAX_PUBLISHER_CHARS = 100
# The version of clean_text's rules, recorded in the index: a build re-reads every file of an index whose
# articles were cleaned by other rules (2: news-site boilerplate dropped, boilerplate.py), re-encoding
# only the articles whose text changed.
CLEANING = 2
MAX_TEXT_BYTES = 8 * 1024 * 1024  # a .txt/.md/.html file beyond this is indexed up to here (memory stays bounded)

_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SkipFile(Exception):
    """Raised inside a loader: the file is skipped with this reason."""


def read_bytes(name: str, suffix: str, data: bytes) -> Iterator[Article | Problem]:
    """Articles in one file's bytes. Raises SkipFile when the whole file is unusable."""
    if not data.strip():
        raise SkipFile("empty file")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SkipFile("binary file, not text")
    if suffix not in (".json", ".jsonl") and len(data) > MAX_TEXT_BYTES:
        cut = max(data.rfind(b" ", 0, MAX_TEXT_BYTES), data.rfind(b"\n", 0, MAX_TEXT_BYTES))
        data = data[: cut if cut > 0 else MAX_TEXT_BYTES]
        limit = MAX_TEXT_BYTES // 2**20
        yield Problem(name, f"text longer than {limit} MB: only the first {len(data):,} bytes are indexed")
    if suffix in (".html", ".htm"):
        yield _html_article(name, data)
    elif suffix == ".json":
        yield from _json_articles(name, decode(data))
    elif suffix == ".jsonl":
        yield from _jsonl_articles(name, decode(data))
    elif suffix in (".md", ".markdown"):
        yield _text_article(name, _strip_markdown(decode(data)))
    else:
        yield _text_article(name, decode(data))


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else the encoding charset-normalizer detects (cp1256…)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SkipFile("undecodable text (bad UTF-16)") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1_000_000]).best()
    if best is None or best.encoding is None:
        raise SkipFile("undecodable text: not UTF-8 and no known encoding fits")
    return data.decode(best.encoding, errors="replace")


def clean_text(text: str) -> str:
    """Normalise whitespace, drop control characters, news-site boilerplate and repeated paragraphs."""
    seen: set[str] = set()
    lines: list[str] = []
    for raw in _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).split("\n"):
        line = article_line(_SPACES.sub(" ", raw).strip(), opening=not lines)
        if not line:
            continue
        key = line.casefold()
        if key in seen:
            continue
        seen.add(key)
        lines.append(line)
    return "\n".join(lines)


def make_article(
    key: str, title: str, text: str, source: str, date: str | None = None, publisher: str | None = None
) -> Article | None:
    """An Article with a stable id (from ``key``) and a content hash; None when nothing is left after cleaning.
    ``date`` is kept as an ISO date (None when it cannot be read); ``publisher``: the newspaper or site,
    else the domain of a web address ``source``."""
    body = clean_text(text)
    # scraped titles carry HTML entities ("&#8220;نايف البكري&#8221;")
    title = _SPACES.sub(" ", _CONTROL.sub("", html.unescape(title or ""))).strip()[:MAX_TITLE_CHARS]
    if not body:
        return None
    if not title:
        title = body.split("\n", 1)[0][:120]
    content_hash = hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()[:32]
    doc_id = doc_id_for(key)
    return Article(
        doc_id=doc_id, title=title, text=body, source=source, content_hash=content_hash, date=iso_date(date),
        publisher=_clean_publisher(publisher) or url_domain(source),
    )  # fmt: skip


_ISO_DAY = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})")


def iso_date(text: str | None) -> str | None:
    """``YYYY-MM-DD`` of a date as sources write it ("2015-07-25 01:27:33", "2015-07-25T01:27:33+03:00",
    "Sat, 25 Jul 2015 01:27:33 GMT", "25 July 2015"); None when there is none to read."""
    if not text or not text.strip():
        return None
    if found := _ISO_DAY.match(text):
        year, month, day = map(int, found.groups())
    else:
        from dateutil import parser

        try:  # parsed twice with other defaults: a part the text lacks shows as a difference
            parsed = parser.parse(text.strip()[:60], default=datetime.datetime(1, 1, 1))
            again = parser.parse(text.strip()[:60], default=datetime.datetime(2, 2, 2))
        except (ValueError, OverflowError):
            return None
        if (parsed.year, parsed.month, parsed.day) != (again.year, again.month, again.day):
            return None  # no year, month or day in the text: not a date an article can be placed by
        year, month, day = parsed.year, parsed.month, parsed.day
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return None


def url_domain(address: str | None) -> str | None:
    """The site of a web address ("www.okaz.com.sa" → "okaz.com.sa"); None for anything else."""
    if not address or not address.startswith(("http://", "https://")):
        return None
    host = urlsplit(address).hostname or ""
    return host.removeprefix("www.") or None


def _clean_publisher(name: str | None) -> str | None:
    cleaned = _SPACES.sub(" ", _CONTROL.sub("", html.unescape(name or ""))).strip()[:MAX_PUBLISHER_CHARS]
    return cleaned or None


def _text_article(name: str, text: str) -> Article:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise SkipFile("empty file")
    title, body = lines[0], "\n".join(lines[1:])
    article = make_article(name, title, body or title, name)
    if article is None:
        raise SkipFile("no text left after cleaning")
    return article


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE)
_MD_EMPHASIS = re.compile(r"(\*\*|__|`)")


def _strip_markdown(text: str) -> str:
    text = _MD_IMAGE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_HEADING.sub("", text)
    return _MD_EMPHASIS.sub("", text)


_HTML_DROP = ("script", "style", "noscript", "template", "iframe", "svg", "nav", "footer", "aside", "form", "button")
_HTML_BLOCKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "blockquote")


def _html_article(name: str, data: bytes) -> Article:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "lxml")
    for tag in soup(_HTML_DROP):
        tag.decompose()
    title = ""
    meta = soup.find("meta", attrs={"property": "og:title"})
    if meta is not None and meta.get("content"):
        title = str(meta["content"])
    elif soup.title is not None and soup.title.string:
        title = soup.title.string
    elif (h1 := soup.find("h1")) is not None:
        title = h1.get_text(" ", strip=True)
    body = soup.find("article") or soup.body or soup
    for block in body.find_all(_HTML_BLOCKS):
        block.insert_after("\n")
    article = make_article(name, title, body.get_text(), name, _html_date(soup), _html_site(soup))
    if article is None:
        raise SkipFile("no text in the HTML after removing scripts and markup")
    return article


_HTML_DATE_META = (
    {"property": "article:published_time"},
    {"property": "og:published_time"},
    {"itemprop": "datePublished"},
    {"name": "pubdate"},
    {"name": "date"},
    {"name": "dc.date"},
)


def _html_site(soup: Any) -> str | None:
    """The newspaper or site a page names (``og:site_name``, else the domain of its canonical address)."""
    for attrs in ({"property": "og:site_name"}, {"name": "application-name"}):
        meta = soup.find("meta", attrs=attrs)
        if meta is not None and str(meta.get("content") or "").strip():
            return str(meta["content"])
    address = soup.find("meta", attrs={"property": "og:url"}) or soup.find("link", attrs={"rel": "canonical"})
    return url_domain(str(address.get("content") or address.get("href") or "")) if address is not None else None


def _html_date(soup: Any) -> str | None:
    """The publication date a news page declares (its metadata, else the first <time datetime>)."""
    for attrs in _HTML_DATE_META:
        meta = soup.find("meta", attrs=attrs)
        if meta is not None and meta.get("content"):
            return str(meta["content"]).strip()[:40]
    time_tag = soup.find("time", attrs={"datetime": True})
    return str(time_tag["datetime"]).strip()[:40] if time_tag is not None else None


def _json_articles(name: str, text: str) -> Iterator[Article | Problem]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SkipFile(f"invalid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("data"), list) and _is_squad(data["data"]):
        yield from _squad_articles(name, data["data"])
        return
    records: list[Any]
    if isinstance(data, dict):
        articles = data.get("articles")
        records = articles if isinstance(articles, list) else [data]
    elif isinstance(data, list):
        records = data
    else:
        raise SkipFile("JSON holds neither an article object nor a list of articles")
    for i, record in enumerate(records):
        yield _record_article(name, i, record)


def _jsonl_articles(name: str, text: str) -> Iterator[Article | Problem]:
    for i, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Problem(f"{name}#{i + 1}", f"invalid JSON line ({exc.msg})")
            continue
        yield _record_article(name, i, record)


def _record_article(name: str, i: int, record: Any) -> Article | Problem:
    where = f"{name}#{i + 1}"
    if not isinstance(record, dict):
        return Problem(where, "not an article object")
    text = next((record[k] for k in ("content", "text", "body") if isinstance(record.get(k), str)), None)
    if text is None:
        return Problem(where, "article has no 'content' or 'text' field")
    url = record.get("url") if isinstance(record.get("url"), str) else None
    title = record["title"] if isinstance(record.get("title"), str) else ""
    date = next((str(record[k]) for k in ("date", "published", "date_extracted") if record.get(k)), None)
    # the newspaper: SaudiNewsNet's ``source`` ("okaz"), or a named publisher or site (else the URL's domain)
    publisher = next(
        (record[k] for k in ("publisher", "site_name", "site", "source") if isinstance(record.get(k), str)), None
    )
    if publisher and publisher.startswith(("http://", "https://", "/")):
        publisher = url_domain(publisher)
    article = make_article(f"{name}#{url or i}", title, text, url or where, date, publisher)
    return article if article is not None else Problem(where, "article text is empty")


def _is_squad(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(a, dict) and isinstance(a.get("paragraphs"), list) for a in items)


def squad_paragraph_key(name: str, title: str, paragraph_number: int) -> str:
    return f"{name}#{title}/{paragraph_number}"


def _squad_articles(name: str, items: list[dict[str, Any]]) -> Iterator[Article | Problem]:
    for item in items:
        title = str(item.get("title", "")).replace("_", " ")
        for j, paragraph in enumerate(item["paragraphs"]):
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            where = f"{name}#{title}/{j}"
            if not isinstance(context, str):
                yield Problem(where, "SQuAD paragraph without a 'context'")
                continue
            article = make_article(squad_paragraph_key(name, title, j), title, context, where)
            yield article if article is not None else Problem(where, "empty paragraph")


def doc_id_for(key: str) -> str:
    """Stable document id: a hash of where the article comes from (file path, URL or record key)."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]
