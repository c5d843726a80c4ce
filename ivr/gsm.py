"""GSM-7, the SMS alphabet: our texts stay inside it so that a segment holds 160 characters.

One character outside it (a smart quote, an emoji) switches the whole message to UCS-2 and
a segment to 70 characters, so every reply is checked, and text that comes from settings or
the database (practice name, first names, practice-added skills) is folded into it first.
"""

from __future__ import annotations

import re
import unicodedata

# GSM 03.38 default alphabet, in table order (0x1B, the escape to the extension table, left out).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs two septets (escape + character).
GSM7_EXTENSION = frozenset("\f^{}\\[]~|€")
_GSM7 = GSM7_BASIC | GSM7_EXTENSION

SINGLE_SEGMENT_SEPTETS = 160
CONCAT_SEGMENT_SEPTETS = 153  # the rest of 160 holds the concatenation header
SINGLE_SEGMENT_UCS2 = 70
CONCAT_SEGMENT_UCS2 = 67
MAX_BODY_CHARS = 1600  # Twilio refuses longer bodies

# Characters people's phones and word processors produce, and the GSM-7 they stand for.
_FOLD = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u02bc": "'",
    "`": "'",
    "\u00b4": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u2022": "*",
    "\u00b7": "*",
    "\t": " ",
    "\u00a0": " ",
    "\u2007": " ",
    "\u202f": " ",
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
    "\u00ad": "",
    # Letters that do not decompose to a plain one.
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0131": "i",
    "\u0152": "OE",
    "\u0153": "oe",
}


_DOUBLED_SPACES = re.compile(r" {2,}")


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 default alphabet or its extension table."""
    return _GSM7.issuperset(text)  # in C: every reply is checked


def _septets(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def segments(text: str) -> int:
    """How many SMS segments Twilio sends `text` as (an empty body still costs one).

    GSM-7 packs 160 septets in one segment or 153 per segment when concatenated, and an
    extension character is never split from its escape; anything else is UCS-2, 70 UTF-16
    units alone or 67 per segment, a surrogate pair never split.
    """
    if is_gsm7(text):
        costs = [_septets(ch) for ch in text]
        single, per_segment = SINGLE_SEGMENT_SEPTETS, CONCAT_SEGMENT_SEPTETS
    else:
        costs = [len(ch.encode("utf-16-le")) // 2 for ch in text]
        single, per_segment = SINGLE_SEGMENT_UCS2, CONCAT_SEGMENT_UCS2
    if sum(costs) <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > per_segment:
            count, used = count + 1, 0
        used += cost
    return count


def to_gsm7(text: str) -> str:
    """`text` folded into GSM-7: smart punctuation to plain, accents dropped where the plain
    letter is GSM-7 ("Zoë" to "Zoe"), anything else (emoji, other scripts) removed."""
    if is_gsm7(text):  # the usual reply, checked in C: nothing folds (no _FOLD key is GSM-7)
        return _DOUBLED_SPACES.sub(" ", text).strip()
    out: list[str] = []
    for ch in text:
        ch = _FOLD.get(ch, ch)
        if is_gsm7(ch):
            out.append(ch)
            continue
        plain = "".join(
            c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
        )
        if plain and is_gsm7(plain):
            out.append(plain)
    # Removed characters can leave doubled spaces behind.
    return _DOUBLED_SPACES.sub(" ", "".join(out)).strip()


def clamp(text: str, limit: int = MAX_BODY_CHARS) -> str:
    """At most `limit` characters, cut at a word boundary. Replies bound every field that comes
    from settings, so this is a last guard that never cuts a normal reply."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 3]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "..."
