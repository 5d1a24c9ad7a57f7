#!/usr/bin/python3
"""Float64 reference fixtures for services/inference/src/classify (dev only; the tests read the committed output).

Run with Debian's interpreter (python3-numpy):  /usr/bin/python3 models/tools/classify_reference/make_classify_fixtures.py

Writes services/inference/test/classify/fixtures/:
  tol-v1/txt_emb_species.{npy,json}   official format, .npy version 1.0, [768, 57]: 50 species + 7 zero padding columns
  tol-v2/txt_emb_species.{npy,json}   .npy version 2.0, [768, 57], 57 labels: the last 7 labelled columns are all zero
  tol-v3-fortran/txt_emb_species.{npy,json}  .npy version 3.0, Fortran order, [768, 12]
  queries.npy                         [768, Q] float32 image embeddings (not unit, norm ~45 like BioCLIP 2's)
  reference.json                      pybioclip-semantics results computed here in float64

Every .npy is written by numpy itself (np.save / np.lib.format.write_array), so the headers are genuine.
The 50 species are real taxa with synthetic embeddings (a hierarchy of random directions plus noise), chosen to
include homonyms across kingdoms (genus Morus: mulberries and gannets; genus Prunella: self-heal and accentors),
a lineage with a missing rank, a missing common name, non-ASCII and quoted common names.
"""
import json
import math
import os

import numpy as np

DIM = 768
LOGIT_SCALE = 100.0
K = 5
TOP_STORED = 8
RANKS = ["kingdom", "phylum", "class", "order", "family", "genus", "species"]
OUT = os.path.join(os.path.dirname(__file__), "../../../services/inference/test/classify/fixtures")

SPECIES = [
    # kingdom, phylum, class, order, family, genus, epithet, common name
    ("Animalia", "Chordata", "Aves", "Passeriformes", "Corvidae", "Corvus", "corax", "Common raven"),
    ("Animalia", "Chordata", "Aves", "Passeriformes", "Corvidae", "Corvus", "corone", "Carrion crow"),
    ("Animalia", "Chordata", "Aves", "Passeriformes", "Corvidae", "Corvus", "frugilegus", "Rook"),
    ("Animalia", "Chordata", "Aves", "Passeriformes", "Corvidae", "Pica", "pica", "Eurasian magpie"),
    ("Animalia", "Chordata", "Aves", "Passeriformes", "Corvidae", "Garrulus", "glandarius", "Eurasian jay"),
    ("Animalia", "Chordata", "Aves", "Passeriformes", "Sturnidae", "Sturnus", "vulgaris", "Common starling"),
    ("Animalia", "Chordata", "Aves", "Passeriformes", "Prunellidae", "Prunella", "modularis", "Dunnock"),
    ("Animalia", "Chordata", "Aves", "Passeriformes", "Prunellidae", "Prunella", "collaris", "Alpine accentor"),
    ("Animalia", "Chordata", "Aves", "Passeriformes", "Paridae", "Parus", "major", "Great tit"),
    ("Animalia", "Chordata", "Aves", "Passeriformes", "Paridae", "Cyanistes", "caeruleus", "Eurasian blue tit"),
    ("Animalia", "Chordata", "Aves", "Suliformes", "Sulidae", "Morus", "bassanus", "Northern gannet"),
    ("Animalia", "Chordata", "Aves", "Suliformes", "Sulidae", "Morus", "serrator", "Australasian gannet"),
    ("Animalia", "Chordata", "Aves", "Suliformes", "Sulidae", "Sula", "sula", "Red-footed booby"),
    ("Animalia", "Chordata", "Aves", "Accipitriformes", "Accipitridae", "Aquila", "chrysaetos", "Golden eagle"),
    ("Animalia", "Chordata", "Aves", "Accipitriformes", "Accipitridae", "Buteo", "buteo", "Common buzzard"),
    ("Animalia", "Chordata", "Aves", "Anseriformes", "Anatidae", "Anas", "platyrhynchos", "Mallard"),
    ("Animalia", "Chordata", "Aves", "Anseriformes", "Anatidae", "Cygnus", "olor", "Mute swan"),
    ("Animalia", "Chordata", "Mammalia", "Carnivora", "Felidae", "Felis", "catus", "Domestic cat"),
    ("Animalia", "Chordata", "Mammalia", "Carnivora", "Felidae", "Panthera", "leo", "Lion"),
    ("Animalia", "Chordata", "Mammalia", "Carnivora", "Felidae", "Leopardus", "pardalis", "Ocelot"),
    ("Animalia", "Chordata", "Mammalia", "Carnivora", "Ursidae", "Ursus", "arctos", "Brown bear"),
    ("Animalia", "Chordata", "Mammalia", "Carnivora", "Ursidae", "Ursus", "americanus", "American black bear"),
    ("Animalia", "Chordata", "Mammalia", "Carnivora", "Canidae", "Canis", "lupus", "Gray wolf"),
    ("Animalia", "Chordata", "Mammalia", "Carnivora", "Canidae", "Vulpes", "vulpes", "Red fox"),
    ("Animalia", "Chordata", "Mammalia", "Proboscidea", "Elephantidae", "Loxodonta", "africana", "African bush elephant"),
    ("Animalia", "Chordata", "Mammalia", "Artiodactyla", "Bovidae", "Bos", "taurus", "Domestic cattle"),
    ("Animalia", "Chordata", "", "Cypriniformes", "Cyprinidae", "Carassius", "auratus", "Goldfish"),
    ("Animalia", "Chordata", "Actinopterygii", "Cypriniformes", "Cyprinidae", "Cyprinus", "carpio", "Common carp"),
    ("Animalia", "Arthropoda", "Insecta", "Lepidoptera", "Nymphalidae", "Danaus", "plexippus", 'Monarch "king billy"'),
    ("Animalia", "Arthropoda", "Insecta", "Lepidoptera", "Nymphalidae", "Vanessa", "atalanta", "Red admiral"),
    ("Animalia", "Arthropoda", "Insecta", "Hymenoptera", "Apidae", "Apis", "mellifera", "Western honey bee"),
    ("Animalia", "Arthropoda", "Insecta", "Hymenoptera", "Apidae", "Bombus", "terrestris", "Buff-tailed bumblebee"),
    ("Animalia", "Arthropoda", "Insecta", "Coleoptera", "Coccinellidae", "Coccinella", "septempunctata", "Seven-spot ladybird"),
    ("Animalia", "Mollusca", "Gastropoda", "Stylommatophora", "Helicidae", "Cornu", "aspersum", ""),
    ("Animalia", "Echinodermata", "Echinoidea", "Camarodonta", "Strongylocentrotidae", "Mesocentrotus", "franciscanus", "Red sea urchin"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Rosales", "Moraceae", "Morus", "alba", "White mulberry"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Rosales", "Moraceae", "Morus", "nigra", "Black mulberry"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Lamiales", "Lamiaceae", "Prunella", "vulgaris", "Common self-heal"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Lamiales", "Lamiaceae", "Lavandula", "angustifolia", "English lavender"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Lamiales", "Lamiaceae", "Salvia", "officinalis", "Common sage"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Ranunculales", "Ranunculaceae", "Aquilegia", "vulgaris", "Columbine"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Ranunculales", "Ranunculaceae", "Ranunculus", "acris", "Meadow buttercup"),
    ("Plantae", "Tracheophyta", "Liliopsida", "Asparagales", "Orchidaceae", "Platanthera", "lacera", "Green fringed orchid"),
    ("Plantae", "Tracheophyta", "Liliopsida", "Asparagales", "Orchidaceae", "Ophrys", "apifera", "Bee orchid"),
    ("Plantae", "Tracheophyta", "Liliopsida", "Asparagales", "Asparagaceae", "Convallaria", "majalis", "Lily-of-the-valley"),
    ("Plantae", "Tracheophyta", "Pinopsida", "Pinales", "Pinaceae", "Pinus", "sylvestris", "Scots pine"),
    ("Plantae", "Tracheophyta", "Pinopsida", "Pinales", "Pinaceae", "Picea", "abies", "Norway spruce"),
    ("Fungi", "Basidiomycota", "Agaricomycetes", "Agaricales", "Amanitaceae", "Amanita", "muscaria", "Fly agaric"),
    ("Fungi", "Basidiomycota", "Agaricomycetes", "Agaricales", "Amanitaceae", "Amanita", "phalloides", "Death cap"),
    ("Fungi", "Basidiomycota", "Agaricomycetes", "Boletales", "Boletaceae", "Boletus", "edulis", "Cèpe de Bordeaux"),
]
# Labelled but never embedded (all-zero columns) in the v2 fixture.
UNEMBEDDED = [
    ("Animalia", "Chordata", "Mammalia", "Primates", "Hominidae", "Homo", "sapiens", "Human"),
    ("Animalia", "Chordata", "Mammalia", "Primates", "Hominidae", "Pan", "troglodytes", "Chimpanzee"),
    ("Animalia", "Chordata", "Aves", "Strigiformes", "Strigidae", "Bubo", "bubo", "Eurasian eagle-owl"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Fagales", "Fagaceae", "Quercus", "robur", "English oak"),
    ("Plantae", "Tracheophyta", "Magnoliopsida", "Asterales", "Asteraceae", "Bellis", "perennis", "Common daisy"),
    ("Fungi", "Ascomycota", "Pezizomycetes", "Pezizales", "Morchellaceae", "Morchella", "esculenta", "Morel"),
    ("Chromista", "Ochrophyta", "Phaeophyceae", "Fucales", "Fucaceae", "Fucus", "vesiculosus", "Bladder wrack"),
]


def unit(v):
    return v / np.linalg.norm(v)


def make_embeddings(rng):
    """Species direction = sum over its lineage prefixes of a random direction per prefix, plus noise."""
    weights = [0.9, 0.7, 0.8, 0.7, 0.7, 0.8, 0.55]
    directions = {}
    out = np.zeros((len(SPECIES), DIM), dtype=np.float32)
    for i, s in enumerate(SPECIES):
        v = np.zeros(DIM)
        for r in range(7):
            key = s[: r + 1]
            if key not in directions:
                directions[key] = unit(rng.standard_normal(DIM))
            v += weights[r] * directions[key]
        v += 0.35 * unit(rng.standard_normal(DIM))
        out[i] = unit(v).astype(np.float32)
    return out


def make_queries(rng, emb):
    """Image embeddings: near one species, between two congeners, between a bird and a plant homonym, or vague."""
    e = emb.astype(np.float64)
    mixes = [
        {0: 1.0},                 # Common raven, confidently
        {0: 0.5, 1: 0.5},         # raven or crow: genus Corvus certain, species not
        {10: 0.5, 35: 0.5},       # gannet or mulberry: the Morus homonyms
        {17: 0.34, 18: 0.33, 19: 0.33},  # some cat
        {0: 0.34, 3: 0.33, 4: 0.33},  # a corvid: family certain, genus not
        {6: 0.3, 37: 0.3, 47: 0.2, 29: 0.2},  # vague
    ]
    noise = [0.55, 0.6, 0.6, 0.7, 0.75, 1.4]
    q = np.zeros((len(mixes), DIM), dtype=np.float32)
    for j, (mix, n) in enumerate(zip(mixes, noise)):
        v = sum(w * e[i] for i, w in mix.items())
        v = unit(v) + n * unit(rng.standard_normal(DIM))
        q[j] = (45.0 * unit(v)).astype(np.float32)
    return q


def label_rows(species):
    return [[list(s[:7]), s[7]] for s in species]


def write_official(name, npy_array, rows, version=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "txt_emb_species.npy")
    if version is None:
        np.save(path, npy_array)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, npy_array, version=version)
    with open(os.path.join(d, "txt_emb_species.json"), "w", encoding="utf-8") as f:
        json.dump(rows, f, ensure_ascii=False)


def lineage_key(s, r):
    return tuple(s[: r + 1])


def tree_softmax(emb, x, cand, min_prob=0.0):
    """pybioclip semantics in float64: softmax over candidate species, higher ranks as sums of their species."""
    xs = x.astype(np.float64)
    xs = xs / np.linalg.norm(xs)
    logits = LOGIT_SCALE * (emb[cand].astype(np.float64) @ xs)
    w = np.exp(logits - logits.max())
    p = w / math.fsum(w)
    ranks = {}
    for r in range(6):
        groups = {}
        for i, pi in zip(cand, p):
            if pi > min_prob:
                groups.setdefault(lineage_key(SPECIES[i], r), []).append(pi)
        ranks[RANKS[r]] = {k: math.fsum(v) for k, v in groups.items()}
    ranks["species"] = {(i,): pi for i, pi in zip(cand, p)}
    return ranks


def species_sort_key(i):
    return tuple(SPECIES[i][:7]) + (i,)


def ordered(rank, table):
    if rank == "species":
        return sorted(table.items(), key=lambda kv: (-kv[1], species_sort_key(kv[0][0])))
    return sorted(table.items(), key=lambda kv: (-kv[1], kv[0]))


def encode_key(rank, key):
    if rank == "species":
        return list(SPECIES[key[0]][:7])
    return list(key)


def answer(ranks, threshold):
    for r in reversed(RANKS):
        (key, p), = ordered(r, ranks[r])[:1]
        if p >= threshold:
            return {"rank": r, "lineage": encode_key(r, key), "score": p}
    return None


def scenario_results(emb, queries, cand, min_prob=0.0):
    out = []
    for x in queries:
        ranks = tree_softmax(emb, x, cand, min_prob)
        out.append({
            "top": {r: [{"lineage": encode_key(r, k), "score": p} for k, p in ordered(r, ranks[r])[:TOP_STORED]] for r in RANKS},
            "groupCount": {r: len(ranks[r]) for r in RANKS},
            "answer50": answer(ranks, 0.5),
            "answer90": answer(ranks, 0.9),
        })
    return out


def fake_text_encoder(text):
    """A deterministic stand-in text encoder, reproduced exactly in the TypeScript test (integer arithmetic)."""
    s = 0
    for i, ch in enumerate(text):
        s = (s + (i + 1) * ord(ch)) % 1000003
    return np.array([((s * 31 + (k + 1) * 17 + (s % (k + 7))) % 1009) / 1009.0 - 0.5 for k in range(DIM)], dtype=np.float32)


TEMPLATES_FIRST_THREE = ["a bad photo of a {}.", "a photo of many {}.", "a sculpture of a {}."]


def zero_shot_reference(templates):
    out = []
    for s in SPECIES[:3] + [SPECIES[33]]:
        names = " ".join(s[:7])
        text = names + (" with common name " + s[7] if s[7] else "")
        embs = np.stack([fake_text_encoder(t.replace("{}", text)) for t in templates]).astype(np.float64)
        embs /= np.linalg.norm(embs, axis=1, keepdims=True)
        mean = embs.mean(axis=0)
        mean /= np.linalg.norm(mean)
        out.append({"lineage": list(s[:7]), "commonName": s[7], "label": text, "embedding": mean.tolist()})
    return out


def custom_labels_reference(emb, queries):
    labels = [
        ("raven", emb[0], "corvid"), ("crow", emb[1], "corvid"), ("magpie", emb[3], "corvid"),
        ("gannet", emb[10], "seabird"), ("booby", emb[12], "seabird"),
        ("mulberry", emb[35], "plant"), ("  sage  ", emb[39], "plant"),
    ]
    vectors = np.stack([unit(v.astype(np.float64)) for _, v, _ in labels])
    out = []
    for x in queries:
        xs = x.astype(np.float64) / np.linalg.norm(x.astype(np.float64))
        logits = LOGIT_SCALE * (vectors @ xs)
        w = np.exp(logits - logits.max())
        p = w / math.fsum(w)
        bins = {}
        for (_, _, b), pi in zip(labels, p):
            bins.setdefault(b, []).append(pi)
        out.append({"labels": p.tolist(), "bins": {b: math.fsum(v) for b, v in bins.items()}})
    species_of_label = [0, 1, 3, 10, 12, 35, 39]
    return {"labels": [{"label": l, "bin": b, "species": i} for (l, _, b), i in zip(labels, species_of_label)], "results": out}


def main():
    rng = np.random.default_rng(20261128)
    emb = make_embeddings(rng)
    queries = make_queries(rng, emb)
    n = len(SPECIES)

    # Official format: [768, N] float32, one species per column.
    padded = np.zeros((DIM, n + 7), dtype=np.float32)
    padded[:, :n] = emb.T
    write_official("tol-v1", padded, label_rows(SPECIES))
    write_official("tol-v2", padded, label_rows(SPECIES + UNEMBEDDED), version=(2, 0))
    write_official("tol-v3-fortran", np.asfortranarray(emb[:12].T), label_rows(SPECIES[:12]), version=(3, 0))
    np.save(os.path.join(OUT, "queries.npy"), np.ascontiguousarray(queries.T))

    everything = list(range(n))
    aves = [i for i, s in enumerate(SPECIES) if s[2] == "Aves"]
    corvidae = [i for i, s in enumerate(SPECIES) if s[:5] == ("Animalia", "Chordata", "Aves", "Passeriformes", "Corvidae")]
    morus = [i for i, s in enumerate(SPECIES) if s[5] == "Morus"]
    explicit = [3, 7, 11, 20, 21, 40]
    scenarios = [
        {"name": "all species", "subset": None, "minProb": 0, "candidates": everything},
        {"name": "all species, pybioclip min_prob 1e-9", "subset": None, "minProb": 1e-9, "candidates": everything},
        {"name": "class Aves by name", "subset": {"rank": "class", "names": ["Aves"]}, "minProb": 0, "candidates": aves},
        {"name": "Corvidae by lineage", "subset": {"lineages": [["Animalia", "Chordata", "Aves", "Passeriformes", "Corvidae"]]}, "minProb": 0, "candidates": corvidae},
        {"name": "genus Morus by name (both homonyms)", "subset": {"rank": "genus", "names": ["Morus"]}, "minProb": 0, "candidates": morus},
        {"name": "explicit species list", "subset": {"speciesIds": explicit}, "minProb": 0, "candidates": explicit},
    ]
    for s in scenarios:
        s["results"] = scenario_results(emb, queries, s.pop("candidates"), s["minProb"])

    reference = {
        "generator": "models/tools/classify_reference/make_classify_fixtures.py",
        "numpy": np.__version__,
        "logitScale": LOGIT_SCALE,
        "k": K,
        "species": [{"lineage": list(s[:7]), "commonName": s[7]} for s in SPECIES],
        "scenarios": scenarios,
        "customLabels": custom_labels_reference(emb, queries),
        "zeroShot": {"templatesFirstThree": TEMPLATES_FIRST_THREE, "classes": zero_shot_reference(TEMPLATES_FIRST_THREE)},
    }
    with open(os.path.join(OUT, "reference.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
