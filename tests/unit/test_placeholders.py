"""Template placeholders: which are known, what is refused, and filling in one pass."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.knowledge.placeholders import PLACEHOLDERS, fill, problems, used

VALUES = {
    "nama": "Cut Nyak Dhien",
    "referensi": "IQ-7K2M9QXA",
    "nomor_tiket": "TKT-KANWIL-ACEH-2026-000042",
    "batas_waktu": "Selasa, 24 November 2026 pukul 17.00 WIB",
    "kantor": "Kantor Wilayah DJBC Aceh",
}


def test_every_known_placeholder_is_filled() -> None:
    text = "{{nama}} {{ referensi }} {{nomor_tiket}} {{batas_waktu}} {{kantor}}"
    assert problems(text) == []
    assert used(text) == ["nama", "referensi", "nomor_tiket", "batas_waktu", "kantor"]
    assert fill(text, VALUES) == " ".join(VALUES.values())


def test_unknown_and_broken_placeholders_are_named() -> None:
    found = problems("Halo {{nama}}, NIK {{nik}} dan {{nik}} lagi, {{Nama}}, {{}}")
    assert [p.text for p in found] == ["{{nik}}", "{{Nama}}", "{{}}"]
    assert "known: {{nama}}" in found[0].detail
    assert [p.text for p in problems("Halo {{nama}")] == ["{{"]
    assert [p.text for p in problems("Halo nama}}")] == ["}}"]
    assert [p.text for p in problems("{{na{{ma}}")] == ["{{ma}}", "{{"]
    # Single braces are ordinary text.
    assert problems("Tarif {0} dan {x}") == []


def test_values_that_look_like_placeholders_stay_as_they_are() -> None:
    values = {**VALUES, "nama": "{{kantor}}"}
    assert fill("{{nama}} / {{kantor}}", values) == "{{kantor}} / Kantor Wilayah DJBC Aceh"


_plain = st.text(st.characters(blacklist_characters="{}"), max_size=30)


@given(st.lists(st.tuples(_plain, st.sampled_from(sorted(PLACEHOLDERS))), max_size=8), _plain)
def test_fill_replaces_exactly_the_placeholders(parts: list[tuple[str, str]], tail: str) -> None:
    template = "".join(text + "{{" + name + "}}" for text, name in parts) + tail
    assert problems(template) == []
    expected = "".join(text + VALUES[name] for text, name in parts) + tail
    assert fill(template, VALUES) == expected


@given(st.text(st.sampled_from("{} nama_x"), max_size=40))
def test_a_template_that_passes_leaves_no_double_braces(text: str) -> None:
    filled = fill(text, dict.fromkeys(PLACEHOLDERS, "x"))
    if not problems(text):
        assert "{{" not in filled
        assert "}}" not in filled
