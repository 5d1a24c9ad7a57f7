"""Random strings built from pieces that stress the cleaning rules' interplay (seeded, reproducible).

Dev-only: make_fixture.py turns them into fuzz_ids.json.
"""
from __future__ import annotations

import random

PIECES = list("abcxyzABCXYZ0123456789 .,;:!?'\"-_/()[]{}<>&#") + [
    # whitespace Python and JavaScript disagree on, line breaks, controls, C1, lone surrogates
    "  ", "\t", "\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000", "\u200b",
    "\ufeff", "\x00", "\x07", "\x1b[1m", "\x1b", "\x7f", "\x80", "\x81", "\x91", "\x92", "\x9d", "\x9f",
    "\ud800", "\udc00",
    # HTML references (ftfy's and html.unescape's rules differ)
    "&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&#x27;", "&amp", "&AMP;", "&EACUTE;", "&eacute;", "&nbsp;",
    "&#0;", "&#1;", "&#128;", "&#x85;", "&#xFB01;", "&#xD800;", "&#8217;", "&#x201c;", "&notin;", "&not",
    "&SZLIG;", "&#x3000;", "&#xFEFF;", "&#65279;", "&#x2028;",
    # contractions, case folding, special casing
    "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'\u017f", "\u017f", "\u212a", "\u0130", "\u0131", "\u00df",
    "\u1e9e", "\u03a3", "\u03a3\u0391\u03a3", "\u03c2", "\u0345", "\u1fbc", "\u01c5", "\u01c4", "\u0133", "\u0149",
    # composition, ligatures, widths, quotes
    "\u00e9", "e\u0301", "\u00c5", "A\u030a", "\u2126", "\u03a9", "\ufb01", "\ufb05", "\ufb06", "\uff21", "\uff5a",
    "\uff11", "\uff01", "\uff70", "\uff76", "\uff9e", "\uffe5", "\uffe3", "\u2018", "\u2019", "\u201a", "\u201b",
    "\u201c", "\u201d", "\u201e", "\u201f", "\u02bc",
    # digits, symbols, emoji, scripts
    "\u216b", "\u00bd", "\u00b2", "\u0663", "\U0001d7d8", "\u2460", "\u24b6", "\u24d0", "\U0001f426",
    "\U0001f426\u200d\u2b1b", "\U0001f44d\U0001f3fd", "\U0001f1ef\U0001f1f5", "\U000e0067", "\u6e21\u9e26",
    "\u30ef\u30bf\u30ea\u30ac\u30e9\u30b9", "\uff9c\uff80\uff98", "\uae4c\ub9c8\uadc0", "\u0414\u044f\u0442\u0435\u043b",
    "\u05e2\u05d5\u05e8\u05d1", "\u063a\u0631\u0627\u0628", "\u0915\u094c\u0906",
    # special tokens, mojibake, format characters
    "<start_of_text>", "<end_of_text>", "<START_OF_TEXT>", "\u00c3\u00a9", "\u00c3", "\u00e2\u20ac\u2122", "\u00c2",
    "\u206a", "\ufff9", "\ufffc", "\ufffd", "\u00ad", "\u0300", "\u0308", "\u034f",
]


def fuzz_strings(seed: int, count: int, max_pieces: int = 25) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, max_pieces))) for _ in range(count)]
