#!/usr/bin/env python3
"""Writes the committed tokenizer test strings (services/inference/test/tokenizer/fixtures/strings.json).

Dev-only. Real 7-rank lineages come from ../shared/data (taxonomy CSVs and the BioCLIP 2 sample
metadata), sampled with a fixed seed; the rest are hand-written edge cases. JSON keeps newlines, tabs,
lone surrogates and control characters intact.

    /usr/bin/python3 models/tools/tokenizer_reference/build_strings.py [--shared ../shared]
"""
from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
OUT = REPO / "services/inference/test/tokenizer/fixtures/strings.json"

# The 80 prompt templates of OpenAI's CLIP ImageNet zero-shot evaluation, which BioCLIP 2 averages.
OPENAI_IMAGENET_TEMPLATES = [
    "a bad photo of a {}.",
    "a photo of many {}.",
    "a sculpture of a {}.",
    "a photo of the hard to see {}.",
    "a low resolution photo of the {}.",
    "a rendering of a {}.",
    "graffiti of a {}.",
    "a bad photo of the {}.",
    "a cropped photo of the {}.",
    "a tattoo of a {}.",
    "the embroidered {}.",
    "a photo of a hard to see {}.",
    "a bright photo of a {}.",
    "a photo of a clean {}.",
    "a photo of a dirty {}.",
    "a dark photo of the {}.",
    "a drawing of a {}.",
    "a photo of my {}.",
    "the plastic {}.",
    "a photo of the cool {}.",
    "a close-up photo of a {}.",
    "a black and white photo of the {}.",
    "a painting of the {}.",
    "a painting of a {}.",
    "a pixelated photo of the {}.",
    "a sculpture of the {}.",
    "a bright photo of the {}.",
    "a cropped photo of a {}.",
    "a plastic {}.",
    "a photo of the dirty {}.",
    "a jpeg corrupted photo of a {}.",
    "a blurry photo of the {}.",
    "a photo of the {}.",
    "a good photo of the {}.",
    "a rendering of the {}.",
    "a {} in a video game.",
    "a photo of one {}.",
    "a doodle of a {}.",
    "a close-up photo of the {}.",
    "a photo of a {}.",
    "the origami {}.",
    "the {} in a video game.",
    "a sketch of a {}.",
    "a doodle of the {}.",
    "a origami {}.",
    "a low resolution photo of a {}.",
    "the toy {}.",
    "a rendition of the {}.",
    "a photo of the clean {}.",
    "a photo of a large {}.",
    "a rendition of a {}.",
    "a photo of a nice {}.",
    "a photo of a weird {}.",
    "a blurry photo of a {}.",
    "a cartoon {}.",
    "art of a {}.",
    "a sketch of the {}.",
    "a embroidered {}.",
    "a pixelated photo of a {}.",
    "itap of the {}.",
    "a jpeg corrupted photo of the {}.",
    "a good photo of a {}.",
    "a plushie {}.",
    "a photo of the nice {}.",
    "a photo of the small {}.",
    "a photo of the weird {}.",
    "the cartoon {}.",
    "art of the {}.",
    "a drawing of the {}.",
    "a photo of the large {}.",
    "a black and white photo of a {}.",
    "the plushie {}.",
    "a dark photo of a {}.",
    "itap of a {}.",
    "graffiti of the {}.",
    "a toy {}.",
    "itap of my {}.",
    "a photo of a cool {}.",
    "a photo of a small {}.",
    "a tattoo of the {}.",
]
assert len(OPENAI_IMAGENET_TEMPLATES) == 80 and len(set(OPENAI_IMAGENET_TEMPLATES)) == 80

RAVEN = "Animalia Chordata Aves Passeriformes Corvidae Corvus corax with common name Common Raven"

# Hand-written cases, grouped by what they exercise.
EDGE_CASES = [
    # empty and whitespace only
    "", " ", "\t\n  \r\n", "\u3000", "\u00a0\u2003\u2009",
    # ASCII punctuation, apostrophes and contractions (the regex keeps 's 't 're 've 'm 'll 'd apart)
    "Hello, world!", "it's the raven's nest", "don't, won't, can't", "they're here; we've seen; I'm sure",
    "you'll see, he'd know", "IT'S LOUD", "o'brien's o'clock", "rock 'n' roll", "'s", "''s''",
    "a--b...c!!!???", "(parenthesis) [brackets] {braces} <angles>", "e-mail: someone@example.org",
    "https://www.inaturalist.org/observations/12345?x=1&y=2", "C++ / C# / F#", "100% of $5 — ~50¢",
    "snake_case and kebab-case and CamelCase", "#hashtag @mention", "...", "?!", "'", "\"quoted\"",
    # digits (each digit is its own word)
    "2024", "3.14159", "1,000,000 specimens", "Corvus corax (Linnaeus, 1758)", "0123456789",
    "Route 66 mile 12b", "x2y3z4", "H2O CO2", "٣ Arabic-Indic digits ٤٥", "Ⅻ Roman numeral", "½ ¾ ²",
    # accents, case folding and scripts
    "Ångström", "Müller's Œnanthe oenanthe", "Œnanthe", "ÆSIR æsir", "Curaçao São Tomé Zürich Øresund",
    "Straße STRASSE", "İstanbul ıi", "ΣΑΣ σας Οδυσσεύς", "Ὀδυσσεύς", "Дятел большой пёстрый",
    "Ворон обыкновенный", "ワタリガラス", "オオハシ科", "渡鸦 (Corvus corax)", "大嘴乌鸦", "까마귀",
    "ไก่ฟ้า", "עורב", "غراب", "कौआ", "ཁྲ་", "Ꮎ Cherokee", "Ⓐⓑⓒ circled", "𝔉𝔯𝔞𝔨𝔱𝔲𝔯 𝐛𝐨𝐥𝐝",
    "e\u0301 decomposed e-acute", "A\u030a decomposed A-ring", "x\u0345 ypogegrammeni", "x\u0345y mid-word \u0345", "\u212b Angstrom sign",
    "\u212a Kelvin sign", "ﬅ ligature and it'ſ long s", "Ǆ ǅ ǆ digraphs", "Ĳsselmeer ĳs", "ŉ afrikaans",
    # emoji and symbols
    "🐦‍⬛ black bird", "🦅🦉🦜", "👍🏽 thumbs", "🏴󠁧󠁢󠁷󠁬󠁳󠁿 Wales", "❤️ heart", "♀ ♂ ⚥", "°C ± µm ×÷",
    "™ © ®", "→ ← ↑ ↓", "★☆", "🇺🇸🇯🇵",
    # HTML entities: ftfy unescapes (when no '<'), then html.unescape runs twice
    "Tom &amp; Jerry", "&lt;b&gt;bold&lt;/b&gt;", "&#39;single&#39;", "&quot;double&quot;",
    "nested &amp;amp; twice", "triple &amp;amp;amp; deep", "&amp;lt;tag&amp;gt;", "P&EACUTE;REZ",
    "BUNDESSTRA&SZLIG;E", "&ntilde; &Ntilde; &NTILDE; &nTILDE;", "caf&eacute; cr&egrave;me",
    "&copy 2024 &reg", "AT&T and R&D", "fish &chips", "this&not that", "&notit; &notin;",
    "&#8217;curly&#8217; &#x201C;quotes&#x201D;", "&#x41;&#66;&#x43", "&#128; &#150; &#133;",
    "&#0; &#1; &#x0B; &#x7f; ok", "&#xD800; surrogate ref", "&#1114112; too big", "&#59; semicolon",
    "&#xFB01;sh ligature ref", "&#x3000;ideographic&#x3000;space", "&#xFEFF;bom ref", "&hellip; &mdash; &nbsp;x",
    "&HilbertSpace; &Jscr;ohn", "&frac12; cup", "&amp", "&", "&&&", "& amp;", "&;", "&#;", "&#x;",
    "a < b &amp; c", "line one\n&amp; line two with <", "first &amp; line\nsecond < &amp; line\nthird &amp; line",
    "&LTIMES; &AMP; &GT", "&lt&gt", "x&ampy",
    # curly quotes, dashes, ligatures, widths (ftfy)
    "\u201cCommon Raven\u201d", "\u2018it\u2019s\u2019", "\u201equote\u201f", "\u02bcokina", "“smart” ‘quotes’",
    "ﬁnch ﬂycatcher ﬀ ﬃ ﬄ ﬆ", "Ｃｏｒｖｕｓ　ｃｏｒａｘ", "ＬＯＵＤ　ＮＯＩＳＥＳ", "ｱｵｻｷﾞ half-width katakana",
    "１２３！？", "ﾟ", "full stop。comma、",
    # line breaks, tabs, control characters, terminal escapes
    "tabs\tbetween\twords", "multiple     spaces", "  leading and trailing  ", "line\nbreak",
    "crlf\r\nline", "cr\ronly", "ls\u2028ps\u2029nel\u0085", "bell\x07 and null\x00 chars",
    "zero\u200bwidth space", "zw\u200djoiner", "soft\u00adhyphen", "bom\ufeffinside", "\ufeffleading bom",
    "\x1b[31mred\x1b[0m text", "\x1b[١٢mdigits", "obj\ufffcreplacement", "\u206adeprecated",
    "file\x1cgroup\x1drecord\x1eunit\x1f seps", "vt\x0bff\x0c", "lone \ud800 surrogate", "\udc00 low first",
    "c1 \x85 nel and \x96 dash", "c1 \x80 euro",
    # the special tokens themselves, spelled in text
    "<start_of_text>", "a photo <end_of_text> of", "<START_OF_TEXT>x", "<end_of_text><end_of_text>",
    "<ſtart_of_text>",
    # mojibake: ftfy's encoding repair changes these (see README: not reproduced)
    "sÃ³", "voilÃ le travail", "Ã©t&eacute;", "âœ” No problems", "The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows.",
]

LONG_CASES = [
    " ".join([RAVEN] * 6),
    "a " * 200,
    "x" * 500,
    "supercalifragilisticexpialidocious " * 20,
    ", ".join(str(i) for i in range(100)),
    "🐦" * 100,
    "Animalia Chordata Aves Passeriformes Corvidae Corvus corax with common name Common Raven, "
    "a large all-black passerine bird found across the Northern Hemisphere, the most widely distributed "
    "of all corvids; it has at least eight subspecies with little variation in appearance.",
    "word " * 74 + "end",
    "word " * 75,
    "word " * 76,
]


def label(ranks: list[str], common: str | None) -> str:
    text = " ".join(r.strip() for r in ranks)
    return f"{text} with common name {common.strip()}" if common and common.strip() else text


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def lineages(shared: Path, rng: random.Random) -> list[str]:
    tax = shared / "data/taxonomy"
    out: list[str] = []

    rare = read_csv(tax / "bioclip_rare_species_400.csv")
    for row in rng.sample(rare, 40):
        ranks = [row[k] for k in ("kingdom", "phylum", "class", "order", "family", "genus", "species_epithet")]
        out.append(label(ranks, row["common_name"]))

    sample = read_csv(shared / "data/bioclip2-sample/metadata.csv")
    seen: set[str] = set()
    rows = [r for r in sample if r["species"] and r["genus"]]
    rng.shuffle(rows)
    for row in rows:
        if row["species"] in seen:
            continue
        seen.add(row["species"])
        epithet = row["species"].split(" ", 1)[1] if " " in row["species"] else row["species"]
        ranks = [row[k] for k in ("kingdom", "phylum", "class", "order", "family", "genus")] + [epithet]
        out.append(label(ranks, row["common_name"]))
        if len(seen) == 30:
            break

    mammals = read_csv(tax / "mdd_v1.13_mammals_core.csv")
    for row in rng.sample(mammals, 20):
        ranks = [row["kingdom"], row["phylum"], row["class"], row["order"], row["family"],
                 row["genus"], row["specificEpithet"]]
        out.append(label(ranks, row["mainCommonName"]))

    birds = [r for r in read_csv(tax / "ebird_taxonomy_auk.csv") if r["category"] == "species"]
    for row in rng.sample(birds, 20):
        genus, epithet = row["scientific_name"].split(" ", 1)
        ranks = ["Animalia", "Chordata", "Aves", row["order"], row["family"].split(" ")[0], genus, epithet]
        out.append(label(ranks, row["common_name"]))

    inat = read_csv(tax / "inat_seek2019_species_7rank.csv")
    for row in rng.sample(inat, 20):
        genus, epithet = row["species"].split(" ", 1)
        out.append(label([row[k] for k in ("kingdom", "phylum", "class", "order", "family")] + [genus, epithet], None))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = parser.parse_args()

    rng = random.Random(20261128)
    labels = lineages(args.shared, rng)
    strings: list[str] = [RAVEN]
    strings += labels
    strings += [t.format(RAVEN) for t in OPENAI_IMAGENET_TEMPLATES]
    # Other labels in a few templates each, so templates meet accents, digits and long names too.
    for text in labels[::7]:
        strings += [t.format(text) for t in rng.sample(OPENAI_IMAGENET_TEMPLATES, 3)]
    strings += EDGE_CASES
    strings += LONG_CASES

    unique = list(dict.fromkeys(strings))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(unique, ensure_ascii=True, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(unique)} strings to {OUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
