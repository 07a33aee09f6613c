"""Organ words: the organs a text names, from a small explicit table of words and TCGA codes.

An expert declares the organs it was trained on by the table's names ("colorectum"); a request,
an earlier request of the case or a slide's file path names an organ by any of its words
("ovarian", "renal biopsy", "cholangiocarcinoma") or by a TCGA project code ("TCGA-…_CHOL").
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import PurePath

__all__ = ["ORGANS", "TCGA_PROJECTS", "organ_names", "organs_in", "organs_in_path"]

ORGANS: dict[str, tuple[str, ...]] = {
    "colorectum": (
        "colon", "colonic", "colorectal", "colorectum", "rectum", "rectal", "caecum", "cecum",
        "sigmoid", "large bowel", "large intestine", "appendix", "appendiceal",
    ),
    "ovary": ("ovary", "ovaries", "ovarian", "fallopian tube", "adnexa", "adnexal"),
    "uterus": ("uterus", "uterine", "endometrium", "endometrial", "cervix", "myometrium"),
    "breast": ("breast", "mammary"),
    "prostate": ("prostate", "prostatic"),
    "skin": ("skin", "cutaneous", "dermis", "dermal", "epidermis", "epidermal"),
    "kidney": ("kidney", "kidneys", "renal", "nephrectomy"),
    "liver": ("liver", "hepatic", "hepatocellular", "hepatocyte", "hepatocytes"),
    "bile duct": ("bile duct", "bile ducts", "biliary", "cholangiocarcinoma", "cholangiocellular",
                  "cholangio", "cholangioca", "klatskin", "gallbladder"),
    "lung": ("lung", "lungs", "pulmonary", "bronchus", "bronchial", "alveolar", "pleura",
             "pleural"),
    "stomach": ("stomach", "gastric"),
    "oesophagus": ("oesophagus", "esophagus", "oesophageal", "esophageal"),
    "small intestine": ("small intestine", "small bowel", "duodenum", "duodenal", "ileum",
                        "jejunum"),
    "pancreas": ("pancreas", "pancreatic"),
    "thyroid": ("thyroid",),
    "bladder": ("bladder", "urothelial", "urothelium"),
    "brain": ("brain", "cerebral", "glioma", "glioblastoma", "astrocytoma", "meningioma"),
    "lymph node": ("lymph node", "lymph nodes", "nodal"),
    "head and neck": ("head and neck", "oral cavity", "tongue", "larynx", "laryngeal",
                      "pharynx", "tonsil", "oropharynx", "oropharyngeal", "nasopharynx",
                      "nasopharyngeal", "hypopharynx", "salivary", "parotid"),
    "bone": ("bone", "osseous", "marrow"),
    "soft tissue": ("soft tissue",),
}  # fmt: skip
"""Organ name → the words that name it (lower case; each matched as a whole word).

A tumour that arises in many organs (melanoma, sarcoma, lymphoma) names none."""

TCGA_PROJECTS: dict[str, str] = {
    "COAD": "colorectum", "READ": "colorectum", "OV": "ovary", "UCEC": "uterus",
    "CESC": "uterus", "BRCA": "breast", "PRAD": "prostate", "SKCM": "skin", "KIRC": "kidney",
    "KIRP": "kidney", "KICH": "kidney", "LIHC": "liver", "CHOL": "bile duct", "LUAD": "lung",
    "LUSC": "lung", "STAD": "stomach", "ESCA": "oesophagus", "PAAD": "pancreas",
    "THCA": "thyroid", "BLCA": "bladder", "GBM": "brain", "LGG": "brain", "HNSC": "head and neck",
    "SARC": "soft tissue",
}  # fmt: skip
"""TCGA project code → organ (a code is read from a file path only, in capitals)."""


def organ_names() -> frozenset[str]:
    """The organ names an expert may declare."""
    return frozenset(ORGANS)


@cache
def _pattern() -> re.Pattern[str]:
    words = sorted({w for ws in ORGANS.values() for w in ws}, key=len, reverse=True)
    alternatives = "|".join(re.escape(w).replace(r"\ ", r"[\s-]+") for w in words)
    return re.compile(rf"(?<![\w-])({alternatives})(?![\w-])", re.IGNORECASE)


@cache
def _organ_of_word() -> dict[str, str]:
    return {w: organ for organ, ws in ORGANS.items() for w in ws}


def organs_in(text: str) -> list[tuple[str, str]]:
    """The organs ``text`` names, as (organ, the word as written), first mention first."""
    found: dict[str, str] = {}
    for m in _pattern().finditer(text):
        word = " ".join(m.group(1).replace("-", " ").split())
        organ = _organ_of_word()[word.lower()]
        found.setdefault(organ, word)
    return list(found.items())


def organs_in_path(path: str) -> list[tuple[str, str]]:
    """The organs a slide's file path names.

    A TCGA project code anywhere in it ("…_CHOL/tile.jpg"), or an organ's name in the file's
    own name ("kidney-48-5.tif", "colon_biopsy_3.svs"); folders above the file are places.
    """
    found: dict[str, str] = {}
    for token in re.split(r"[^A-Za-z0-9]+", path):
        organ = TCGA_PROJECTS.get(token)
        if organ is not None:
            found.setdefault(organ, f"TCGA-{token}")
    stem = re.sub(r"[\W_]+", " ", PurePath(path).stem)
    for organ, word in organs_in(stem):
        found.setdefault(organ, word)
    return list(found.items())
