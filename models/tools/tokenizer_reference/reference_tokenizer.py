"""Reference CLIP tokenizer in Python: open_clip's SimpleTokenizer + tokenize(), written out again.

Dev-only (generates the TypeScript tokenizer's test fixture); nothing at run time imports it.
It uses the real `ftfy` and `regex` packages, because those two are what the TypeScript port has to
imitate. No torch: rows are plain lists.
"""
from __future__ import annotations

import gzip
import html
from functools import lru_cache
from pathlib import Path

import ftfy
import regex

REPO = Path(__file__).resolve().parents[3]
DEFAULT_VOCAB = REPO / "models/tokenizer/bpe_simple_vocab_16e6.txt.gz"

SOT = "<start_of_text>"
EOT = "<end_of_text>"
CONTEXT_LENGTH = 77
MERGES_USED = 49152 - 256 - 2


@lru_cache()
def byte_to_char() -> dict[int, str]:
    """Printable Latin-1 bytes stand for themselves; the rest get U+0100 upwards. Printable bytes come first."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {b: chr(b) for b in printable}
    offset = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + offset)
            offset += 1
    return table


def clean(text: str, fix_encoding: bool = True) -> str:
    """open_clip's "lower" cleaning: ftfy, html.unescape twice, strip, collapse whitespace, lower-case.

    fix_encoding=False switches off ftfy's mojibake repair, which the TypeScript port does not have.
    """
    text = ftfy.fix_text(text, fix_encoding=fix_encoding)
    text = html.unescape(html.unescape(text)).strip()
    return " ".join(text.split()).strip().lower()


class ReferenceTokenizer:
    def __init__(self, vocab_path: Path = DEFAULT_VOCAB) -> None:
        with gzip.open(vocab_path, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")
        self.merges = [tuple(line.split()) for line in lines[1 : MERGES_USED + 1]]
        assert all(len(m) == 2 for m in self.merges)
        chars = list(byte_to_char().values())
        tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in self.merges] + [SOT, EOT]
        self.token_id = {t: i for i, t in enumerate(tokens)}
        assert len(self.token_id) == 49408
        self.rank = {m: i for i, m in enumerate(self.merges)}
        self.sot_id = self.token_id[SOT]
        self.eot_id = self.token_id[EOT]
        self.pattern = regex.compile(
            rf"{SOT}|{EOT}|'s|'t|'re|'ve|'m|'ll|'d|[\p{{L}}]+|[\p{{N}}]|[^\s\p{{L}}\p{{N}}]+",
            regex.IGNORECASE,
        )
        self._cache: dict[str, list[str]] = {SOT: [SOT], EOT: [EOT]}

    def _bpe(self, word: str) -> list[str]:
        if word in self._cache:
            return self._cache[word]
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            pairs = {(a, b) for a, b in zip(symbols, symbols[1:])}
            best = min(pairs, key=lambda p: self.rank.get(p, float("inf")))
            if best not in self.rank:
                break
            merged: list[str] = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        self._cache[word] = symbols
        return symbols

    def encode(self, text: str, fix_encoding: bool = True) -> list[int]:
        table = byte_to_char()
        ids: list[int] = []
        for word in self.pattern.findall(clean(text, fix_encoding)):
            spelled = "".join(table[b] for b in word.encode("utf-8"))
            ids.extend(self.token_id[s] for s in self._bpe(spelled))
        return ids

    def tokenize(self, text: str, context_length: int = CONTEXT_LENGTH, fix_encoding: bool = True) -> list[int]:
        row = [self.sot_id] + self.encode(text, fix_encoding) + [self.eot_id]
        if len(row) > context_length:
            row = row[:context_length]
            row[-1] = self.eot_id
        return row + [0] * (context_length - len(row))
