"""Search: the full-text index of inquiries, templates and published articles.

One row per inquiry, template and published article in ``search_entry``, kept by
triggers (an answer is added by the application in its own transaction). PostgreSQL
indexes it as a generated ``tsvector`` (configuration ``indonesian``, personal data
removed by ``infodesk_scrub``) with a GIN index; SQLite as the FTS5 table ``search_fts``
of the stems that the function ``infodesk_stems`` (registered on every connection by
app.search.models) makes. The existing rows are indexed at the end.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The patterns of app.search.text (EMAIL_PATTERN, NUMBER_PATTERN) as they were here.
EMAIL = (
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
NUMBER = r"\+?[0-9](?:[ .()/-]{0,2}[0-9]){8,}"


def _literal(pattern: str) -> str:
    return "'" + pattern.replace("'", "''") + "'"


PG_FUNCTIONS = [
    # chr(2) and chr(3) mark the highlighted words of a snippet; the text never has them.
    # Text without digits or @ (most subjects, many messages) skips the regular
    # expressions, which cost about 20 microseconds each on a short message.
    f"""
    CREATE FUNCTION infodesk_scrub(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT AS $$
      SELECT CASE WHEN v !~ '[0-9@]' THEN v ELSE regexp_replace(
        CASE WHEN strpos(v, '@') > 0 THEN regexp_replace(v, {_literal(EMAIL)}, ' ', 'g')
             ELSE v END,
        {_literal(NUMBER)}, ' ', 'g') END
      FROM (SELECT translate(value, chr(2) || chr(3), '  ') AS v) AS t
    $$""",
    """
    CREATE FUNCTION infodesk_index_inquiry() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO search_entry (kind, inquiry_id, office_code, title, body)
        VALUES ('inquiry', NEW.id, NEW.office_code, NEW.subject, NEW.message);
      ELSE
        UPDATE search_entry SET office_code = NEW.office_code, title = NEW.subject,
               body = NEW.message
         WHERE inquiry_id = NEW.id;
      END IF;
      RETURN NULL;
    END $$""",
    """
    CREATE FUNCTION infodesk_index_template() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.archived_at IS NULL THEN
        INSERT INTO search_entry (kind, template_id, office_code, title, body)
        VALUES ('template', NEW.id, NEW.office_code, NEW.title, NEW.body)
        ON CONFLICT (template_id) DO UPDATE SET office_code = EXCLUDED.office_code,
           title = EXCLUDED.title, body = EXCLUDED.body;
      ELSE
        DELETE FROM search_entry WHERE template_id = NEW.id;
      END IF;
      RETURN NULL;
    END $$""",
    """
    CREATE FUNCTION infodesk_index_article() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.status = 'published' THEN
        INSERT INTO search_entry (kind, article_id, office_code, title, body, keywords)
        VALUES ('article', NEW.id, NEW.office_code, NEW.title, NEW.body,
                (SELECT string_agg(value, ' ') FROM (
                   SELECT json_array_elements_text(NEW.tags) AS value
                   UNION ALL SELECT json_array_elements_text(NEW.legal_references)) AS k))
        ON CONFLICT (article_id) DO UPDATE SET office_code = EXCLUDED.office_code,
           title = EXCLUDED.title, body = EXCLUDED.body, keywords = EXCLUDED.keywords;
      ELSE
        DELETE FROM search_entry WHERE article_id = NEW.id;
      END IF;
      RETURN NULL;
    END $$""",
]

PG_DOCUMENT = """
    ALTER TABLE search_entry ADD COLUMN document tsvector GENERATED ALWAYS AS (
      setweight(to_tsvector('indonesian'::regconfig,
                infodesk_scrub(coalesce(title, '') || ' ' || coalesce(keywords, ''))), 'A')
      || setweight(to_tsvector('indonesian'::regconfig, infodesk_scrub(body)), 'B')
      || setweight(to_tsvector('indonesian'::regconfig,
                   infodesk_scrub(coalesce(answer, ''))), 'C')
    ) STORED"""

PG_INDEX = "CREATE INDEX ix_search_entry_document ON search_entry USING gin (office_code, document)"

PG_TRIGGERS = [
    "CREATE TRIGGER search_inquiry_insert AFTER INSERT ON inquiry "
    "FOR EACH ROW EXECUTE FUNCTION infodesk_index_inquiry()",
    "CREATE TRIGGER search_inquiry_update AFTER UPDATE OF office_code, subject, message "
    "ON inquiry FOR EACH ROW EXECUTE FUNCTION infodesk_index_inquiry()",
    "CREATE TRIGGER search_template AFTER INSERT OR UPDATE ON answer_template "
    "FOR EACH ROW EXECUTE FUNCTION infodesk_index_template()",
    "CREATE TRIGGER search_article AFTER INSERT OR UPDATE ON knowledge_article "
    "FOR EACH ROW EXECUTE FUNCTION infodesk_index_article()",
]

_SQLITE_KEYWORDS = """(SELECT group_concat(value, ' ') FROM (
      SELECT value FROM json_each(NEW.tags)
      UNION ALL SELECT value FROM json_each(NEW.legal_references)))"""

_SQLITE_FTS_ROW = (
    "INSERT INTO search_fts (rowid, title, body, keywords, answer) VALUES (NEW.id, "
    "infodesk_stems(NEW.title), infodesk_stems(NEW.body), infodesk_stems(NEW.keywords), "
    "infodesk_stems(NEW.answer));"
)

SQLITE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, body, keywords, answer)",
    f"CREATE TRIGGER search_fts_insert AFTER INSERT ON search_entry BEGIN {_SQLITE_FTS_ROW} END",
    "CREATE TRIGGER search_fts_update AFTER UPDATE ON search_entry BEGIN "
    f"DELETE FROM search_fts WHERE rowid = OLD.id; {_SQLITE_FTS_ROW} END",
    "CREATE TRIGGER search_fts_delete AFTER DELETE ON search_entry BEGIN "
    "DELETE FROM search_fts WHERE rowid = OLD.id; END",
    "CREATE TRIGGER search_inquiry_insert AFTER INSERT ON inquiry BEGIN "
    "INSERT INTO search_entry (kind, inquiry_id, office_code, title, body) "
    "VALUES ('inquiry', NEW.id, NEW.office_code, NEW.subject, NEW.message); END",
    "CREATE TRIGGER search_inquiry_update AFTER UPDATE OF office_code, subject, message "
    "ON inquiry BEGIN UPDATE search_entry SET office_code = NEW.office_code, "
    "title = NEW.subject, body = NEW.message WHERE inquiry_id = NEW.id; END",
    "CREATE TRIGGER search_template_save AFTER INSERT ON answer_template "
    "WHEN NEW.archived_at IS NULL BEGIN "
    "INSERT INTO search_entry (kind, template_id, office_code, title, body) "
    "VALUES ('template', NEW.id, NEW.office_code, NEW.title, NEW.body); END",
    "CREATE TRIGGER search_template_update AFTER UPDATE ON answer_template BEGIN "
    "DELETE FROM search_entry WHERE template_id = NEW.id; "
    "INSERT INTO search_entry (kind, template_id, office_code, title, body) "
    "SELECT 'template', NEW.id, NEW.office_code, NEW.title, NEW.body "
    "WHERE NEW.archived_at IS NULL; END",
    "CREATE TRIGGER search_article_save AFTER INSERT ON knowledge_article "
    "WHEN NEW.status = 'published' BEGIN "
    "INSERT INTO search_entry (kind, article_id, office_code, title, body, keywords) "
    f"VALUES ('article', NEW.id, NEW.office_code, NEW.title, NEW.body, {_SQLITE_KEYWORDS}); "
    "END",
    "CREATE TRIGGER search_article_update AFTER UPDATE ON knowledge_article BEGIN "
    "DELETE FROM search_entry WHERE article_id = NEW.id; "
    "INSERT INTO search_entry (kind, article_id, office_code, title, body, keywords) "
    f"SELECT 'article', NEW.id, NEW.office_code, NEW.title, NEW.body, {_SQLITE_KEYWORDS} "
    "WHERE NEW.status = 'published'; END",
]


def upgrade() -> None:
    op.create_table(
        "search_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("inquiry_id", sa.Uuid(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("office_code", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("keywords", sa.Text(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", app.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["knowledge_article.id"],
            name=op.f("fk_search_entry_article_id_knowledge_article"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inquiry_id"],
            ["inquiry.id"],
            name=op.f("fk_search_entry_inquiry_id_inquiry"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["answer_template.id"],
            name=op.f("fk_search_entry_template_id_answer_template"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_entry")),
        sa.UniqueConstraint("article_id", name=op.f("uq_search_entry_article_id")),
        sa.UniqueConstraint("inquiry_id", name=op.f("uq_search_entry_inquiry_id")),
        sa.UniqueConstraint("template_id", name=op.f("uq_search_entry_template_id")),
    )
    op.create_index("ix_search_entry_scope", "search_entry", ["kind", "office_code", "id"])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in PG_FUNCTIONS:
            op.execute(statement)
        op.execute(PG_DOCUMENT)
        # btree_gin (a trusted extension, shipped with PostgreSQL) lets the GIN index hold
        # the office too: a search of one office then reads only that office's rows.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        op.execute(PG_INDEX)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE:
            op.execute(statement)
    from app.search.index import rebuild

    rebuild(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for trigger, table in [
            ("search_inquiry_insert", "inquiry"),
            ("search_inquiry_update", "inquiry"),
            ("search_template", "answer_template"),
            ("search_article", "knowledge_article"),
        ]:
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
        op.drop_table("search_entry")
        for function in (
            "infodesk_index_inquiry()",
            "infodesk_index_template()",
            "infodesk_index_article()",
            "infodesk_scrub(text)",
        ):
            op.execute(f"DROP FUNCTION {function}")
        # The btree_gin extension stays: it is the database's, not this schema's alone.
        return
    for trigger in (
        "search_inquiry_insert",
        "search_inquiry_update",
        "search_template_save",
        "search_template_update",
        "search_article_save",
        "search_article_update",
    ):
        op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table("search_entry")
    op.execute("DROP TABLE search_fts")
