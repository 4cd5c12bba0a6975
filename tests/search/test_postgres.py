"""PostgreSQL's own stemming and scrubbing agree with the Python ones that SQLite and the
queries use."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import Session

from app.search.text import STEM_FIXES, scrub, stem, words

_SAMPLE = (
    "pengiriman kiriman dikirim mengirimkan terkirim pemeriksaan diperiksa periksa "
    "penerimaan menerima diterima terima penetapan menetapkan pengenaan dikenakan "
    "pemberitahuan memberitahukan pengeluaran dikeluarkan keluar penyelesaian "
    "selesai pemasukan memasukkan penangguhan pembayaran dibayarkan kepabeanan "
    "pabean cukai penumpang bawaan pribadi barang impor ekspor tarif penagihan "
    "penahanan penolakan pengembalian kembali kendala pakai sampai menyampaikan anda "
    "empat"
)
WORDS = _SAMPLE.split()


@pytest.fixture
def pg(session: Session) -> Session:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    return session


def test_pystemmer_stems_as_postgresql_does(pg: Session) -> None:
    words_ = WORDS + list(STEM_FIXES)
    rows = pg.execute(
        text("SELECT w, ts_lexize('indonesian_stem', w) FROM unnest(CAST(:w AS text[])) AS w"),
        {"w": words_},
    ).all()
    theirs = {w: lexemes[0] for w, lexemes in rows}
    assert {w: stem(w) for w in words_} == theirs


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(WORDS),
            st.from_regex(r"\+?[0-9][0-9 .()/-]{0,24}", fullmatch=True),
            st.emails(),
        ),
        max_size=8,
    )
)
def test_postgresql_scrubs_as_python_does(pg: Session, parts: list[str]) -> None:
    value = " ".join(parts)
    theirs = pg.execute(text("SELECT infodesk_scrub(:v)"), {"v": value}).scalar_one()
    assert theirs == scrub(value)
    # The words left are stemmed alike (numbers aside: the parsers split them differently).
    lexemes = pg.execute(
        text("SELECT tsvector_to_array(to_tsvector('indonesian', infodesk_scrub(:v)))"),
        {"v": value},
    ).scalar_one()
    assert {x for x in lexemes if x.isalpha()} == {
        stem(w) for w in words(scrub(value)) if w.isalpha()
    }
