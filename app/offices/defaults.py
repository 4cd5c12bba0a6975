"""The offices a new database starts with: Kanwil DJBC Aceh and its customs offices."""

from __future__ import annotations

DEFAULT_TIMEZONE = "Asia/Jakarta"

DEFAULT_OFFICES: tuple[tuple[str, str], ...] = (
    ("KANWIL-ACEH", "Kantor Wilayah DJBC Aceh"),
    ("KPPBC-BANDA-ACEH", "KPPBC Banda Aceh"),
    ("KPPBC-LHOKSEUMAWE", "KPPBC Lhokseumawe"),
    ("KPPBC-LANGSA", "KPPBC Langsa"),
    ("KPPBC-MEULABOH", "KPPBC Meulaboh"),
)
