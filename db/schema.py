"""Schema and forward-only migrations, versioned by PRAGMA user_version.

Each entry of MIGRATIONS moves the database one version forward, inside one transaction.
Never edit a released migration: append a new one.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

# The knowledge base's table on its own, so the search module's tests and benchmark build exactly this one.
KB_ARTICLES_DDL = """
CREATE TABLE kb_articles (
  id INTEGER PRIMARY KEY,
  ref TEXT UNIQUE,
  title TEXT NOT NULL,
  body TEXT NOT NULL,
  tags TEXT NOT NULL DEFAULT '',
  product TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('draft','published')),
  lang TEXT NOT NULL DEFAULT '',
  source_ticket_id INTEGER REFERENCES tickets(id),
  created_by TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
"""

V1 = """
CREATE TABLE agents (
  name TEXT PRIMARY KEY,
  display_name TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL CHECK (role IN ('agent','supervisor','admin')),
  tier TEXT NOT NULL DEFAULT 'L1' CHECK (tier IN ('L1','L2','L3')),
  active INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL
);

CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  organisation TEXT NOT NULL DEFAULT '',
  email TEXT,
  phone TEXT,
  tier TEXT NOT NULL DEFAULT 'standard',
  environment TEXT NOT NULL DEFAULT '',
  notes TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX customers_email ON customers(lower(email)) WHERE email IS NOT NULL AND email <> '';
CREATE INDEX customers_name ON customers(name);

CREATE TABLE tickets (
  id INTEGER PRIMARY KEY,
  subject TEXT NOT NULL,
  body TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL CHECK (status IN ('new','open','pending','restored','resolved','closed')),
  priority TEXT NOT NULL CHECK (priority IN ('P1','P2','P3','P4')),
  channel TEXT NOT NULL CHECK (channel IN ('phone','email','chat','web','onsite')),
  tier TEXT NOT NULL DEFAULT 'L1' CHECK (tier IN ('L1','L2','L3')),
  assignee TEXT REFERENCES agents(name),
  customer_id INTEGER REFERENCES customers(id),
  parent_id INTEGER REFERENCES tickets(id),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  restore_summary TEXT,
  resolution_summary TEXT,
  resolution_code TEXT,
  resolved_at TEXT,
  closed_at TEXT,
  confirmed INTEGER,
  unconfirmed_reason TEXT,
  asked_anything_else INTEGER,
  kb_needed INTEGER NOT NULL DEFAULT 0,
  followup_due TEXT,
  followup_done_at TEXT,
  public_replies INTEGER NOT NULL DEFAULT 0,
  escalations INTEGER NOT NULL DEFAULT 0,
  reopens INTEGER NOT NULL DEFAULT 0,
  -- Denormalised from the SLA rules at every write, so the queue sorts and filters in SQL.
  sla_clock TEXT,
  sla_due REAL,
  sla_warn REAL,
  sla_paused_remaining INTEGER
);
CREATE INDEX tickets_queue ON tickets(status, sla_due);
CREATE INDEX tickets_due ON tickets(sla_due);
CREATE INDEX tickets_assignee ON tickets(assignee, status);
CREATE INDEX tickets_customer ON tickets(customer_id);
CREATE INDEX tickets_created ON tickets(created_at);

CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  ticket_id INTEGER NOT NULL REFERENCES tickets(id),
  kind TEXT NOT NULL CHECK (kind IN ('customer','reply','note')),
  author TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX messages_ticket ON messages(ticket_id, id);

CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  ticket_id INTEGER REFERENCES tickets(id),
  actor TEXT NOT NULL,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,
  from_value TEXT,
  to_value TEXT,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_ticket ON events(ticket_id, id);
CREATE INDEX events_at ON events(at);
CREATE INDEX events_kind ON events(kind, at);
-- The audit trail is append-only: the database itself refuses to rewrite history.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE sla_marks (
  ticket_id INTEGER NOT NULL REFERENCES tickets(id),
  clock TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('warning','breach')),
  cycle_start TEXT NOT NULL,
  PRIMARY KEY (ticket_id, clock, kind, cycle_start)
) WITHOUT ROWID;


CREATE TABLE ticket_kb (
  ticket_id INTEGER NOT NULL REFERENCES tickets(id),
  article_id INTEGER NOT NULL REFERENCES kb_articles(id),
  linked_by TEXT NOT NULL,
  linked_at TEXT NOT NULL,
  PRIMARY KEY (ticket_id, article_id)
) WITHOUT ROWID;

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);

CREATE TABLE csat (
  id INTEGER PRIMARY KEY,
  ticket_id INTEGER NOT NULL REFERENCES tickets(id),
  closure INTEGER NOT NULL,
  score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
  comment TEXT NOT NULL DEFAULT '',
  at TEXT NOT NULL,
  UNIQUE (ticket_id, closure)
);

CREATE TABLE presence (
  agent TEXT NOT NULL,
  ticket_id INTEGER NOT NULL,
  seen_at REAL NOT NULL,
  PRIMARY KEY (agent, ticket_id)
) WITHOUT ROWID;
"""


def _v1(conn: sqlite3.Connection) -> None:
    from db.kb_search import KB_FTS_SQL

    run_script(conn, V1 + "\n" + KB_ARTICLES_DDL + "\n" + KB_FTS_SQL)


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run a script statement by statement, inside the caller's transaction (executescript would commit it)."""
    for statement in _split(script):
        conn.execute(statement)


def _split(script: str) -> list[str]:
    """Split a script into statements (executescript would commit our transaction)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


# -- v2: the audit log is hash-chained -----------------------------------------------------------------------
#
# hash = sha256(previous event's hash, its 64 hex characters || canonical(event)), the first event chaining from
# GENESIS; canonical(event) is the compact JSON array of its stored columns in EVENT_COLUMNS order (UTF-8, no
# escaping of non-ASCII). Ids are given out without gaps (the store inserts last id + 1), so a hash that does not
# match is an edited event when it follows its predecessor's id, and a deleted one (a break in the chain) when it
# does not. The hash is not keyed: it shows edits made with SQLite tools, not a rewrite of the whole chain from the
# edit onwards; for that, keep the newest hash somewhere else (a backup) and compare.

GENESIS = "0" * 64
EVENT_COLUMNS = (
    "id",
    "ticket_id",
    "actor",
    "at",
    "kind",
    "from_value",
    "to_value",
    "detail",
    "recorded_at",
    "backfilled",
    "entered_by",
)
EVENT_SELECT = f"SELECT {', '.join(EVENT_COLUMNS)}, hash FROM events"
_CHAIN_BATCH = 5000

# The same append-only trigger as V1: BEFORE UPDATE covers every column, the hash included.
EVENTS_NO_UPDATE = """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"""


def event_hash(previous: str | None, row: Sequence[Any]) -> str:
    """The chain link of one event: ``row`` holds its EVENT_COLUMNS values as stored; ``previous`` is the hash
    of the event before it (GENESIS for the first; a missing one, only ever found in a tampered file, as empty)."""
    canonical = json.dumps(list(row), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(((previous or "") + canonical).encode("utf-8")).hexdigest()


def _v2(conn: sqlite3.Connection) -> None:
    """The audit trail made trustworthy.

    Events: ``recorded_at`` (the clock when the event was written, beside ``at``, the time it says it happened;
    unknown for older events), ``backfilled`` (1 when ``at`` was claimed by an admin, not taken from the clock),
    ``entered_by`` (the admin who recorded it acting as ``actor``), and ``hash``, chaining every event to the one
    before it, computed here for the existing events in id order (the UPDATE trigger is lifted for this
    transaction only and put back before it commits).
    Agents: ``login``, the operating-system login that acts as the agent (existing agents: their name), and
    ``board_only`` for the logins that may only watch the wallboard.
    """
    conn.execute("ALTER TABLE agents ADD COLUMN login TEXT")
    conn.execute("ALTER TABLE agents ADD COLUMN board_only INTEGER NOT NULL DEFAULT 0")
    conn.execute("UPDATE agents SET login = name")
    conn.execute("CREATE UNIQUE INDEX agents_login ON agents(login) WHERE login IS NOT NULL")
    conn.execute("ALTER TABLE events ADD COLUMN recorded_at TEXT")
    conn.execute("ALTER TABLE events ADD COLUMN backfilled INTEGER NOT NULL DEFAULT 0")
    conn.execute("ALTER TABLE events ADD COLUMN entered_by TEXT")
    conn.execute("CREATE INDEX events_backfilled ON events(ticket_id) WHERE backfilled = 1")
    conn.execute("ALTER TABLE events ADD COLUMN hash TEXT")
    conn.execute("DROP TRIGGER events_no_update")
    previous, last_id = GENESIS, -1
    while True:
        rows = conn.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE id > ? ORDER BY id LIMIT ?", [last_id, _CHAIN_BATCH]
        ).fetchall()
        if not rows:
            break
        links = []
        for row in rows:
            previous = event_hash(previous, row)
            links.append((previous, row[0]))
        conn.executemany("UPDATE events SET hash = ? WHERE id = ?", links)
        last_id = rows[-1][0]
    conn.execute(EVENTS_NO_UPDATE)


# -- v3: the queue's urgency order is sorted from one covering index ------------------------------------------


def _v3(conn: sqlite3.Connection) -> None:
    """Every column the queue filters and sorts on (db/store.py URGENCY_BAND), so a page's ticket ids are sorted
    from the index alone and only the page's rows are read: the order depends on the instant, so no index can
    hold it, but sorting 100,000 open tickets from this index is about 7x faster than from the table."""
    conn.execute(
        "CREATE INDEX tickets_urgency ON tickets(status, priority, sla_due, sla_warn, sla_paused_remaining, tier,"
        " assignee)"
    )


# -- v4: how the customer confirmed a closure ------------------------------------------------------------------


def _v4(conn: sqlite3.Connection) -> None:
    """``tickets.confirmed_by``: the channel the customer confirmed the fix on (phone, e-mail, on site, chat) when a
    closure was confirmed; unknown (NULL) for closures before it was asked, unconfirmed ones and auto-closures."""
    conn.execute(
        "ALTER TABLE tickets ADD COLUMN confirmed_by TEXT CHECK (confirmed_by IN ('phone','email','onsite','chat'))"
    )


# -- v5: the time zone each person reads times in ------------------------------------------------------------------


def _v5(conn: sqlite3.Connection) -> None:
    """``agents.zone`` and ``customers.zone``: IANA names (Asia/Shanghai, Europe/London); NULL means the policy's
    business zone. Agents read every time in their own zone; a customer's notices state times in theirs."""
    conn.execute("ALTER TABLE agents ADD COLUMN zone TEXT")
    conn.execute("ALTER TABLE customers ADD COLUMN zone TEXT")


# -- v6: stored urgency, the change feed, the sweeper's lease -------------------------------------------------

_OPEN_SQL = "status IN ('new','open','pending','restored')"  # literal: a partial index only serves the same text

V6 = f"""
-- The queue's order stored with the ticket, as judged at ``q_at`` (the service writes it with every change and
-- the sweeper when a clock crosses a warning or a due time): ``q_band`` the urgency band, ``q_key`` the sort key
-- inside it, ``sla_alert`` 0 running / 1 at risk / 2 breached, ``sla_next`` the next instant any of these change
-- by time alone (NULL: never, until the next change). While no open ticket has ``sla_next`` <= now or ``q_at`` >
-- now, the stored order is the urgency order at now and a page is an index range scan.
ALTER TABLE tickets ADD COLUMN q_band INTEGER NOT NULL DEFAULT 5;
ALTER TABLE tickets ADD COLUMN q_key REAL NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN q_at REAL;
ALTER TABLE tickets ADD COLUMN sla_alert INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tickets ADD COLUMN sla_next REAL;
CREATE INDEX tickets_order ON tickets(q_band, q_key, priority, id) WHERE {_OPEN_SQL};
CREATE INDEX tickets_order_assignee ON tickets(assignee, q_band, q_key, priority, id) WHERE {_OPEN_SQL};
CREATE INDEX tickets_order_tier ON tickets(tier, q_band, q_key, priority, id) WHERE assignee IS NULL AND {_OPEN_SQL};
CREATE INDEX tickets_order_alert ON tickets(q_band, q_key, priority, id) WHERE sla_alert > 0 AND {_OPEN_SQL};
CREATE INDEX tickets_next ON tickets(sla_next) WHERE sla_next IS NOT NULL;
CREATE INDEX tickets_judged ON tickets(q_at) WHERE {_OPEN_SQL};
CREATE INDEX tickets_resolved ON tickets(resolved_at);
CREATE INDEX tickets_closed ON tickets(closed_at);
CREATE INDEX csat_at ON csat(at);

-- Every commit's effect as rows of a feed: consoles and boards read the rows after the last id they applied and
-- re-read only those tickets. ``ticket_id`` NULL: something every screen depends on changed (agents, customers,
-- settings): reload. An UPDATE row keeps the columns the queue's views and order depend on as they were before it.
-- Rows are written by triggers, so no writer can forget them; the sweeper deletes rows older than a few minutes (a
-- reader that finds its next id gone reloads).
CREATE TABLE changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ticket_id INTEGER,
  at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
  created INTEGER NOT NULL DEFAULT 0,
  status_was TEXT,
  assignee_was TEXT,
  tier_was TEXT,
  alert_was INTEGER,
  band_was INTEGER,
  key_was REAL,
  priority_was TEXT
);
CREATE TRIGGER tickets_feed_insert AFTER INSERT ON tickets
BEGIN INSERT INTO changes (ticket_id, created) VALUES (NEW.id, 1); END;
CREATE TRIGGER tickets_feed_update AFTER UPDATE ON tickets
BEGIN INSERT INTO changes (ticket_id, status_was, assignee_was, tier_was, alert_was, band_was, key_was, priority_was)
  VALUES (OLD.id, OLD.status, OLD.assignee, OLD.tier, OLD.sla_alert, OLD.q_band, OLD.q_key, OLD.priority); END;
CREATE TRIGGER events_feed AFTER INSERT ON events WHEN NEW.ticket_id IS NOT NULL
BEGIN INSERT INTO changes (ticket_id) VALUES (NEW.ticket_id); END;
CREATE TRIGGER messages_feed AFTER INSERT ON messages
BEGIN INSERT INTO changes (ticket_id) VALUES (NEW.ticket_id); END;
CREATE TRIGGER agents_feed_insert AFTER INSERT ON agents BEGIN INSERT INTO changes (ticket_id) VALUES (NULL); END;
CREATE TRIGGER agents_feed_update AFTER UPDATE ON agents BEGIN INSERT INTO changes (ticket_id) VALUES (NULL); END;
CREATE TRIGGER customers_feed_update AFTER UPDATE ON customers
BEGIN INSERT INTO changes (ticket_id) VALUES (NULL); END;
CREATE TRIGGER settings_feed_insert AFTER INSERT ON settings BEGIN INSERT INTO changes (ticket_id) VALUES (NULL); END;
CREATE TRIGGER settings_feed_update AFTER UPDATE ON settings BEGIN INSERT INTO changes (ticket_id) VALUES (NULL); END;

-- What the wallboard and the reports read of each ticket's clocks, written with every change of the ticket (the
-- service replays its history then anyway), so no screen replays histories: the first response (``fr_``) and the
-- resolution (``rv_``, its last cycle) in business seconds, when each stopped, whether it met its target, and the
-- due instant while it runs; for every clock the settled cycles and the met ones. ``stale_at``: the next instant
-- these change by time alone (a running cycle falls due), NULL when only a new event can change them.
CREATE TABLE ticket_figures (
  ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id),
  fr_s INTEGER, fr_at REAL, fr_met INTEGER, fr_due REAL,
  rv_s INTEGER, rv_at REAL, rv_met INTEGER, rv_due REAL,
  resolved_once INTEGER NOT NULL DEFAULT 0,
  first_response_met INTEGER NOT NULL DEFAULT 0, first_response_total INTEGER NOT NULL DEFAULT 0,
  next_update_met INTEGER NOT NULL DEFAULT 0, next_update_total INTEGER NOT NULL DEFAULT 0,
  restore_met INTEGER NOT NULL DEFAULT 0, restore_total INTEGER NOT NULL DEFAULT 0,
  resolve_met INTEGER NOT NULL DEFAULT 0, resolve_total INTEGER NOT NULL DEFAULT 0,
  onsite_met INTEGER NOT NULL DEFAULT 0, onsite_total INTEGER NOT NULL DEFAULT 0,
  stale_at REAL
);
CREATE INDEX figures_fr_at ON ticket_figures(fr_at) WHERE fr_at IS NOT NULL;
CREATE INDEX figures_rv_at ON ticket_figures(rv_at) WHERE rv_at IS NOT NULL;
CREATE INDEX figures_fr_due ON ticket_figures(fr_due) WHERE fr_due IS NOT NULL;
CREATE INDEX figures_rv_due ON ticket_figures(rv_due) WHERE rv_due IS NOT NULL;
CREATE INDEX figures_stale ON ticket_figures(stale_at) WHERE stale_at IS NOT NULL;

-- Time-driven work (warnings, breaches, auto-closing, pruning the feed) is done by one process at a time: the one
-- holding the lease, renewed while it lives; any other takes it over once it has expired.
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires REAL NOT NULL
);
-- Background work left over from a migration: ``figures_before`` = tickets with a smaller id may have no figures
-- yet (the sweeper computes them a batch at a time and lowers it to 0).
CREATE TABLE upkeep (
  key TEXT PRIMARY KEY,
  value REAL NOT NULL
);
"""


def _v6(conn: sqlite3.Connection) -> None:
    """Stored urgency, the change feed, the sweeper's lease. Existing open tickets with a running clock are marked
    to be judged again now (``sla_next`` = now), so the first sweep stores their order; until then the queue sorts
    as before."""
    run_script(conn, V6)
    conn.execute("INSERT INTO upkeep (key, value) SELECT 'figures_before', coalesce(max(id), 0) + 1 FROM tickets")
    conn.execute(
        f"UPDATE tickets SET sla_next = (julianday('now') - 2440587.5) * 86400.0"
        f" WHERE {_OPEN_SQL} AND (sla_due IS NOT NULL OR sla_paused_remaining IS NOT NULL)"
    )


# -- v7: the report rollups --------------------------------------------------------------------------------------

V7 = """
-- Every ticket's contribution to the report's sums (console/service/rollups.py, db/rollups.py), written by the
-- service in the transaction of every change: ``report_tickets`` one row per ticket (its creation day in the team
-- zone as a proleptic ordinal, backfilled, group values, durations, counters), ``report_days`` their sums per
-- (dim, value, day, backfilled), ``report_hist`` the first-response / resolution durations counted per bucket and
-- month, ``report_state`` the zone the days are counted in, ``through`` (tickets with an id up to it may have no
-- contribution yet: the sweeper fills them newest first and lowers it to 0) and ``judged`` (the latest instant a
-- stored figure was judged at).
CREATE TABLE report_tickets (
  ticket_id INTEGER PRIMARY KEY,
  day INTEGER NOT NULL,
  backfilled INTEGER NOT NULL,
  agent TEXT NOT NULL, priority TEXT NOT NULL, channel TEXT NOT NULL, tier TEXT NOT NULL,
  fr_s INTEGER, rv_s INTEGER,
  tickets INTEGER NOT NULL, closed INTEGER NOT NULL, done INTEGER NOT NULL, resolved_once INTEGER NOT NULL,
  reopened INTEGER NOT NULL, escalated INTEGER NOT NULL, first_contact INTEGER NOT NULL,
  unconfirmed INTEGER NOT NULL, kb_linked INTEGER NOT NULL, kb_capture INTEGER NOT NULL, csat_sum INTEGER NOT NULL,
  csat_n INTEGER NOT NULL, fr_n INTEGER NOT NULL, rv_n INTEGER NOT NULL, first_response_met INTEGER NOT NULL,
  first_response_total INTEGER NOT NULL, next_update_met INTEGER NOT NULL, next_update_total INTEGER NOT NULL,
  restore_met INTEGER NOT NULL, restore_total INTEGER NOT NULL, resolve_met INTEGER NOT NULL,
  resolve_total INTEGER NOT NULL, onsite_met INTEGER NOT NULL, onsite_total INTEGER NOT NULL
);
CREATE INDEX report_tickets_day ON report_tickets(day);
CREATE INDEX report_tickets_fr ON report_tickets(fr_s, day, backfilled, agent, priority, channel, tier)
  WHERE fr_s IS NOT NULL;
CREATE INDEX report_tickets_rv ON report_tickets(rv_s, day, backfilled, agent, priority, channel, tier)
  WHERE rv_s IS NOT NULL;
CREATE TABLE report_days (
  dim TEXT NOT NULL, value TEXT NOT NULL, day INTEGER NOT NULL, backfilled INTEGER NOT NULL,
  tickets INTEGER NOT NULL DEFAULT 0, closed INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0,
  resolved_once INTEGER NOT NULL DEFAULT 0, reopened INTEGER NOT NULL DEFAULT 0,
  escalated INTEGER NOT NULL DEFAULT 0, first_contact INTEGER NOT NULL DEFAULT 0,
  unconfirmed INTEGER NOT NULL DEFAULT 0, kb_linked INTEGER NOT NULL DEFAULT 0,
  kb_capture INTEGER NOT NULL DEFAULT 0, csat_sum INTEGER NOT NULL DEFAULT 0, csat_n INTEGER NOT NULL DEFAULT 0,
  fr_n INTEGER NOT NULL DEFAULT 0, rv_n INTEGER NOT NULL DEFAULT 0, first_response_met INTEGER NOT NULL DEFAULT 0,
  first_response_total INTEGER NOT NULL DEFAULT 0, next_update_met INTEGER NOT NULL DEFAULT 0,
  next_update_total INTEGER NOT NULL DEFAULT 0, restore_met INTEGER NOT NULL DEFAULT 0,
  restore_total INTEGER NOT NULL DEFAULT 0, resolve_met INTEGER NOT NULL DEFAULT 0,
  resolve_total INTEGER NOT NULL DEFAULT 0, onsite_met INTEGER NOT NULL DEFAULT 0,
  onsite_total INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (dim, value, day, backfilled)
) WITHOUT ROWID;
CREATE TABLE report_hist (
  measure TEXT NOT NULL, dim TEXT NOT NULL, value TEXT NOT NULL, month INTEGER NOT NULL,
  backfilled INTEGER NOT NULL, bucket INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (measure, dim, value, month, backfilled, bucket)
) WITHOUT ROWID;
CREATE TABLE report_state (key TEXT PRIMARY KEY, value);
INSERT INTO report_state (key, value) SELECT 'through', coalesce(max(id), 0) FROM tickets;
INSERT INTO report_state (key, value) VALUES ('zone', NULL), ('judged', 0);
"""


def _v7(conn: sqlite3.Connection) -> None:
    """The report rollups, empty: every existing ticket is left to the fill (``through`` = the newest ticket);
    reports replay histories until it is done."""
    run_script(conn, V7)


# -- mail: the e-mail channel (inbound messages, the outbox, attachments, the fetcher's and sender's state) --------

MAIL_DDL = """
CREATE TABLE mail_messages (
  id INTEGER PRIMARY KEY,
  message_id TEXT NOT NULL UNIQUE,
  direction TEXT NOT NULL CHECK (direction IN ('in','out')),
  ticket_id INTEGER REFERENCES tickets(id),
  message_row INTEGER REFERENCES messages(id),
  sender TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL DEFAULT '',
  auto TEXT,
  outcome TEXT NOT NULL,
  opened_ticket INTEGER NOT NULL DEFAULT 0,
  raw_sha256 TEXT,
  at TEXT NOT NULL
);
CREATE INDEX mail_messages_ticket ON mail_messages(ticket_id, id);
CREATE INDEX mail_messages_sender ON mail_messages(sender, at) WHERE opened_ticket = 1;

CREATE TABLE mail_outbox (
  id INTEGER PRIMARY KEY,
  ticket_id INTEGER NOT NULL REFERENCES tickets(id),
  message_row INTEGER REFERENCES messages(id),
  kind TEXT NOT NULL CHECK (kind IN ('reply','receipt')),
  message_id TEXT NOT NULL UNIQUE,
  to_addr TEXT NOT NULL,
  to_name TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL,
  body TEXT NOT NULL,
  in_reply_to TEXT,
  refs TEXT NOT NULL DEFAULT '',
  auto INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting','sent','failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at REAL NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox(status, next_at);
CREATE INDEX mail_outbox_ticket ON mail_outbox(ticket_id, id);

CREATE TABLE mail_attachments (
  id INTEGER PRIMARY KEY,
  mail_id INTEGER NOT NULL REFERENCES mail_messages(id),
  ticket_id INTEGER REFERENCES tickets(id),
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT,
  refused TEXT
);
CREATE INDEX mail_attachments_ticket ON mail_attachments(ticket_id, id);

CREATE TABLE mail_state (
  part TEXT PRIMARY KEY CHECK (part IN ('fetch','send')),
  ok_at TEXT,
  error TEXT,
  error_at TEXT,
  failures INTEGER NOT NULL DEFAULT 0
);
"""


def _mail_tables(conn: sqlite3.Connection) -> None:
    """The e-mail channel. ``mail_messages``: every message received or sent, by its Message-ID (unique: a message
    fetched twice is stored once; threading looks replies up here), the ticket and message row it became, and what
    was done with it (``outcome``: new ticket, added, auto-reply kept, bounce, dropped). ``mail_outbox``: replies
    and receipts to deliver, written in the reply's own transaction with their Message-ID fixed there (a resend
    after a crash is the same message). ``mail_attachments``: stored content-addressed beside the database.
    ``mail_state``: the fetcher's and sender's last success and last error (mail status, the console header)."""
    run_script(conn, MAIL_DDL)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _mail_tables]
LATEST = len(MIGRATIONS)


def version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, before: Callable[[int], None] | None = None) -> int:
    """Bring the schema to LATEST. ``before(current)`` runs first when an existing database must change
    (the store backs the file up there). Returns the version reached."""
    current = version(conn)
    if current > LATEST:
        from db.errors import DatabaseUnavailable

        raise DatabaseUnavailable(
            f"database schema version {current} is newer than this program supports ({LATEST}); upgrade helpdesk"
        )
    if current == LATEST:
        return current
    if current == 0:
        # A new database goes to LATEST in one transaction: a process opening it meanwhile never finds it half-way
        # (it would take it for an older file to back up and migrate step by step).
        conn.execute("BEGIN IMMEDIATE")
        try:
            if version(conn) == 0:
                for step in MIGRATIONS:
                    step(conn)
                conn.execute(f"PRAGMA user_version = {LATEST}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        current = version(conn)
        if current == LATEST:
            return LATEST
    if current > 0 and before is not None:
        before(current)
    for index in range(current, LATEST):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if version(conn) > index:
                conn.execute("COMMIT")
                continue
            MIGRATIONS[index](conn)
            conn.execute(f"PRAGMA user_version = {index + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return LATEST


@cache
def expected_objects() -> dict[tuple[str, str], str]:
    """Every index and trigger the migrations create, as ``(type, name) -> SQL`` (whitespace collapsed): read
    from a scratch in-memory database brought to LATEST, so it is what this file creates and nothing else."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn)
        return schema_objects(conn)
    finally:
        conn.close()


def schema_objects(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    """The named indexes and triggers of a database (SQLite's own automatic indexes have no SQL and are left out)."""
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql IS NOT NULL"
    )
    return {(str(kind), str(name)): " ".join(str(sql).split()) for kind, name, sql in rows}
