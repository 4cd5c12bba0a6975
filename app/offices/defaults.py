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

# The units every default office starts with (code, name); each serves its own office.
# An admin replaces a directory with PUT /v1/offices/{code}/units.
DEFAULT_UNITS: tuple[tuple[str, str], ...] = (
    ("PKC", "Pelayanan Kepabeanan dan Cukai"),
    ("P2", "Penindakan dan Penyidikan"),
    ("PERBEND", "Perbendaharaan"),
    ("KIP", "Kepatuhan Internal dan Penyuluhan"),
    ("PDAD", "Pengolahan Data dan Administrasi Dokumen"),
)
