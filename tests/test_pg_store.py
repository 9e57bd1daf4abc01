"""The PostgreSQL store against a real PostgreSQL 15 (tests/pg.py): schema, migrations, the store's methods, the
change feed and the hash chain, checked against what the SQLite store does."""

from __future__ import annotations

import psycopg
import pytest

from db.pg import schema
from db.pg.store import PgStore, _q, redacted
from tests.pg import Cluster


def test_placeholders_translate_outside_quotes_only() -> None:
    assert _q("SELECT ? WHERE a = :name AND b::text = 'x?:y%' AND c LIKE ?") == (
        "SELECT %s WHERE a = %(name)s AND b::text = 'x?:y%%' AND c LIKE %s"
    )


def test_redacted_hides_the_password() -> None:
    assert redacted("postgresql://ann:secret@db.example:5432/helpdesk") == "postgresql://ann@db.example:5432/helpdesk"


def test_a_new_database_gets_the_schema_once(pg_cluster: Cluster) -> None:
    name = pg_cluster.new_database(template=None)
    try:
        store = PgStore(pg_cluster.url(name))
        assert schema.version(store.conn) == schema.LATEST
        tables = {r[0] for r in store._tuples("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert {"tickets", "events", "changes", "ticket_figures", "report_days", "mail_outbox"} <= tables
        store.close()
        again = PgStore(pg_cluster.url(name))  # nothing to do the second time
        assert again._tuples("SELECT count(*) FROM helpdesk_schema")[0][0] == schema.LATEST
        again.close()
    finally:
        pg_cluster.drop_database(name)


def test_a_database_without_schema_is_not_created_unless_asked(pg_cluster: Cluster) -> None:
    from db.errors import DatabaseUnavailable

    name = pg_cluster.new_database(template=None)
    try:
        with pytest.raises(DatabaseUnavailable, match="helpdesk init"):
            PgStore(pg_cluster.url(name), create=False)
    finally:
        pg_cluster.drop_database(name)


def test_an_unreachable_server_is_one_line() -> None:
    from db.errors import DatabaseUnavailable

    with pytest.raises(DatabaseUnavailable) as caught:
        PgStore("postgresql://nobody:pw@127.0.0.1:1/none")
    assert "\n" not in str(caught.value) and "pw" not in str(caught.value)


def test_partial_order_indexes_exist(pg_db: str) -> None:
    store = PgStore(pg_db)
    rows = dict(store._tuples("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tickets'"))
    assert "WHERE (status = ANY" in rows["tickets_order"]
    assert "assignee IS NULL" in rows["tickets_order_tier"]
    store.close()


def test_psycopg_is_3() -> None:
    assert psycopg.__version__.startswith("3.")
