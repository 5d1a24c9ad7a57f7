"""A small reference of CLIP's byte-pair tokenizer, for parity fixtures only (ASCII text).

It follows OpenAI CLIP's simple_tokenizer: byte-to-unicode table, merges from the first 48,894
lines after the header, lower-casing, and open_clip's framing (sot ... eot, zero padding,
truncation that keeps eot last). Unicode-aware text fixing (ftfy) and \\p{L} classes are left to
the service's tokenizer: fixture strings are plain ASCII, where `[A-Za-z]`/`[0-9]` are exact.
"""

from __future__ import annotations

import gzip
import html
import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Tuple

SOT = 49406
EOT = 49407
CONTEXT_LENGTH = 77

# CLIP's pattern with \p{L} -> [A-Za-z] and \p{N} -> [0-9], exact for ASCII input.
_TOKEN_PATTERN = re.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[A-Za-z]+|[0-9]|[^\sA-Za-z0-9]+""",
    re.IGNORECASE,
)


def bytes_to_unicode() -> Dict[int, str]:
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in codes)))


class ReferenceBpe:
    def __init__(self, merges_path: Path) -> None:
        with gzip.open(merges_path, "rt", encoding="utf-8") as handle:
            lines = handle.read().split("\n")
        merges: List[Tuple[str, str]] = [tuple(line.split()) for line in lines[1 : 49152 - 256 - 2 + 1]]  # type: ignore[misc]
        self.byte_encoder = bytes_to_unicode()
        vocab = list(self.byte_encoder.values())
        vocab += [v + "</w>" for v in vocab]
        vocab += ["".join(pair) for pair in merges]
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        self.encoder = {token: i for i, token in enumerate(vocab)}
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        if len(self.encoder) != 49408 or self.encoder["<|endoftext|>"] != EOT:
            raise ValueError(f"{merges_path}: unexpected vocabulary ({len(self.encoder)} entries)")

    @lru_cache(maxsize=4096)
    def _bpe(self, token: str) -> Tuple[str, ...]:
        word: Tuple[str, ...] = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged: List[str] = []
            i = 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        return word

    def encode(self, text: str) -> List[int]:
        if not text.isascii():
            raise ValueError("the reference BPE handles ASCII text only")
        text = re.sub(r"\s+", " ", html.unescape(html.unescape(text))).strip().lower()
        ids: List[int] = []
        for token in _TOKEN_PATTERN.findall(text):
            mapped = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[piece] for piece in self._bpe(mapped))
        return ids

    def tokenize(self, text: str) -> List[int]:
        """open_clip framing: [sot] + ids + [eot], truncated to 77 keeping eot last, padded with 0."""
        tokens = [SOT] + self.encode(text) + [EOT]
        if len(tokens) > CONTEXT_LENGTH:
            tokens = tokens[:CONTEXT_LENGTH]
            tokens[-1] = EOT
        return tokens + [0] * (CONTEXT_LENGTH - len(tokens))
