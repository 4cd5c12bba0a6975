"""The survey's HTML pages for requesters: plain forms, inline CSS, no script.

Every value placed in a page goes through :func:`html.escape` (``string.Template`` only
substitutes; escaping is done here, once, by ``_e``).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from string import Template

from app.evaluation.survey import AGE_BANDS, EDUCATIONS, ELEMENTS, OCCUPATIONS, SEXES

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1a1a1a;background:#f3f5f8}
header{background:#0b3d6e;color:#fff;padding:14px 16px}
header h1{font-size:1.15rem;margin:0}
header p{margin:2px 0 0;font-size:.85rem;opacity:.85}
main{max-width:640px;margin:0 auto;padding:12px}
.card{background:#fff;border-radius:10px;padding:14px 16px;margin:0 0 12px;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
fieldset{border:0;margin:0;padding:0}
legend{font-weight:600;padding:0;margin-bottom:6px}
.en{color:#555;font-size:.85rem}
.opt{display:flex;align-items:center;gap:10px;padding:9px 10px;margin:6px 0;
border:1px solid #ccd3dc;border-radius:8px;min-height:44px}
.opt input{width:20px;height:20px;margin:0}
.error{border:2px solid #c62828}
.msg{color:#c62828;font-size:.9rem;margin:4px 0 0}
.alert{background:#fdecea;color:#8a1c1c;border-radius:8px;padding:10px 12px;margin-bottom:12px}
label.f{display:block;margin:10px 0 4px;font-weight:600}
select,textarea{width:100%;font:inherit;padding:9px;border:1px solid #ccd3dc;border-radius:8px;
background:#fff}
textarea{min-height:110px}
button{width:100%;font:inherit;font-weight:600;color:#fff;background:#0b3d6e;border:0;
border-radius:8px;padding:13px;min-height:48px}
.ref{font-family:ui-monospace,monospace;white-space:nowrap}
"""

_PAGE = Template(
    """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>$title</title>
<style>$css</style>
</head>
<body>
<header><h1>Survei Kepuasan Masyarakat</h1>
<p>Bea dan Cukai &middot; Customer satisfaction survey</p></header>
<main>
$body
</main>
</body>
</html>
"""
)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def page(title: str, body: str) -> str:
    """A whole page around ``body`` (already HTML)."""
    return _PAGE.substitute(title=_e(title), css=_CSS, body=body)


def _reference(reference: str) -> str:
    return (
        f'<p>Nomor referensi / Reference: <strong class="ref" id="reference">'
        f"{_e(reference)}</strong></p>"
    )


def message_page(title: str, lines_id: str, line_en: str, reference: str | None) -> str:
    """A page with one message (thank-you, answered, closed, not yet open, unknown)."""
    ref = _reference(reference) if reference else ""
    body = (
        f'<div class="card" id="status"><h2>{_e(title)}</h2><p>{_e(lines_id)}</p>'
        f'<p class="en">{_e(line_en)}</p>{ref}</div>'
    )
    return page(title, body)


def _select(name: str, label: str, options: Mapping[str, str], chosen: str | None) -> str:
    items = ['<option value="">&mdash; pilih / choose &mdash;</option>']
    for value, text in options.items():
        selected = " selected" if value == chosen else ""
        items.append(f'<option value="{_e(value)}"{selected}>{_e(text)}</option>')
    return (
        f'<label class="f" for="{_e(name)}">{label}</label>'
        f'<select id="{_e(name)}" name="{_e(name)}">{"".join(items)}</select>'
    )


def form_page(
    *,
    code: str,
    reference: str,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> str:
    """The questionnaire, optionally refilled with ``values`` and showing ``errors``."""
    values = values or {}
    errors = errors or {}
    parts = [
        '<div class="card"><p>Terima kasih telah menghubungi kami. Mohon luangkan waktu '
        "sebentar untuk menilai layanan kami. Pilih satu jawaban untuk setiap pertanyaan.</p>"
        '<p class="en">Please rate our service: one answer per question.</p>'
        f"{_reference(reference)}</div>"
    ]
    if errors:
        parts.append(
            '<div class="alert" role="alert" id="errors">Mohon lengkapi isian yang ditandai. '
            "/ Please complete the marked fields.</div>"
        )
    parts.append(f'<form method="post" action="/survey/{_e(code)}" novalidate>')
    for number, element in enumerate(ELEMENTS, 1):
        error = errors.get(element.code)
        klass = "card error" if error else "card"
        options = []
        for value, label in enumerate(element.labels, 1):
            checked = " checked" if values.get(element.code) == str(value) else ""
            ident = f"{element.code}-{value}"
            options.append(
                f'<label class="opt" for="{ident}"><input type="radio" id="{ident}" '
                f'name="{element.code}" value="{value}" required{checked}>'
                f"<span>{_e(label)}</span></label>"
            )
        msg = f'<p class="msg">{_e(error)}</p>' if error else ""
        parts.append(
            f'<div class="{klass}" id="q-{element.code}"><fieldset><legend>{number}. '
            f"{_e(element.question)}</legend>"
            f'<p class="en">{_e(element.name)}</p>{"".join(options)}{msg}</fieldset></div>'
        )
    profile_errors = "".join(
        f'<p class="msg">{_e(errors[name])}</p>'
        for name in ("age_band", "sex", "education", "occupation")
        if name in errors
    )
    sex_options = "".join(
        f'<label class="opt" for="sex-{value}"><input type="radio" id="sex-{value}" '
        f'name="sex" value="{value}"{" checked" if values.get("sex") == value else ""}>'
        f"<span>{_e(value)} ({_e(text)})</span></label>"
        for value, text in SEXES.items()
    )
    parts.append(
        '<div class="card" id="profile"><h2>Profil responden (opsional)</h2>'
        '<p class="en">About you (optional)</p>'
        + _select("age_band", "Usia / Age", AGE_BANDS, values.get("age_band"))
        + '<fieldset><legend class="f">Jenis kelamin / Sex</legend>'
        + sex_options
        + "</fieldset>"
        + _select("education", "Pendidikan / Education", EDUCATIONS, values.get("education"))
        + _select("occupation", "Pekerjaan / Occupation", OCCUPATIONS, values.get("occupation"))
        + profile_errors
        + "</div>"
    )
    suggestion_error = errors.get("suggestion")
    parts.append(
        '<div class="card"><label class="f" for="suggestion">Saran dan masukan '
        '<span class="en">/ Suggestions (optional)</span></label>'
        f'<textarea id="suggestion" name="suggestion" maxlength="2000">'
        f"{_e(values.get('suggestion', ''))}</textarea>"
        + (f'<p class="msg">{_e(suggestion_error)}</p>' if suggestion_error else "")
        + "</div>"
        '<button type="submit" id="submit">Kirim / Submit</button></form>'
    )
    return page("Survei Kepuasan Masyarakat", "".join(parts))
