-- The privilege model of a helpdesk database on PostgreSQL: what each database role may do, so that a colleague
-- with psql and their own login can do no more than the helpdesk lets them.
--
-- Roles (roles are cluster-wide, so the group roles carry the database's name and two helpdesk databases on one
-- server never share them):
--   owner        the login that ran `helpdesk init` (a DBA creates it with CREATEROLE and makes it the database's
--                owner); owns every table and function, is the first admin agent; the agents' roles are made
--                by its functions (below), which any admin may call.
--   {agent}      NOLOGIN group: every active agent's login is a member (supervisors too: the helpdesk's roles
--                beyond this are the service's rules, not the database's).
--   {admin}      NOLOGIN group: admins' logins; a member of {agent}, and may also write agents and settings.
-- An agent's login is their own role (peer authentication on the local socket, SCRAM from other hosts), and the
-- database knows who acts: `session_user`. The events' insert trigger (db/pg/schema.py, helpdesk_event_stamp)
-- sets the actor, entered_by, recorded_at, id and hash from it and from the server's clock, whatever the client
-- sends; an agent may not claim another time.
--
-- Applied by the store after every migration and whenever the database is new to its owner (a copy of another
-- database): every statement may run again.

REVOKE ALL ON DATABASE {database} FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;

GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {agent};
GRANT USAGE ON SCHEMA public TO {agent};
GRANT {agent} TO {admin};

-- Everyone on the floor reads everything (the service masks what a role may not see).
GRANT SELECT ON ALL TABLES IN SCHEMA public TO {agent};
-- Identity columns give out ids from sequences (SELECT: a supervisor's pg_dump backup reads their positions).
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {agent};
-- The trigger functions run as the owner (SECURITY DEFINER: the feed and the chain are written for the agent);
-- agents only need to call the lock every writer takes.
GRANT EXECUTE ON FUNCTION helpdesk_feed_lock() TO {agent};

-- The audit trail: insert only. No UPDATE, no DELETE, no TRUNCATE for anyone but the owner, whose own attempts the
-- append-only triggers refuse.
GRANT INSERT ON events TO {agent};

-- The floor's work: tickets, their messages, customers, the satisfaction scores, knowledge, links.
GRANT INSERT, UPDATE ON tickets, customers, kb_articles TO {agent};
GRANT INSERT ON messages, csat, ticket_kb, sla_marks TO {agent};
-- The knowledge search's documents, written with the article they index (db/pg/kb_search.py).
GRANT INSERT, UPDATE, DELETE ON kb_search, kb_terms, kb_postings, kb_delta, kb_stats TO {agent};
-- Derived data every writer keeps current (stored figures, report rollups), the sweeper's lease and upkeep marks,
-- presence, the feed's pruning, the mail channel's records.
GRANT INSERT, UPDATE, DELETE ON ticket_figures, report_tickets, report_days, report_hist, leases, presence
  TO {agent};
GRANT INSERT, UPDATE ON report_state, upkeep TO {agent};
GRANT DELETE ON changes TO {agent};
GRANT INSERT, UPDATE ON mail_messages, mail_outbox, mail_attachments, mail_state TO {agent};

-- Who is an agent and with which role, and the policies (settings): admins only. An agent cannot promote
-- themselves: no UPDATE on agents, and no ADMIN OPTION on {admin} to grant it to their own login.
GRANT INSERT, UPDATE ON agents, settings TO {admin};

-- `helpdesk agent add` by any admin (schema v3): making a role needs CREATEROLE, which admins do not get (it would
-- let them alter any role of the server). helpdesk_sync_role(login) runs as the owner for the admins' group only;
-- it creates a missing login as a plain LOGIN role (no other attribute) or grants an existing login role, and
-- makes it a member of {agent} / {admin} as the agents table says of that login (admins alone write that table):
-- the caller names a login, never a group or an attribute. Refused: a name the server would cut (over 63 bytes)
-- or reserves (pg_*, public…), and an existing group role or a role with members (the grant would carry them in).
-- Names reach SQL through format('%I') only. helpdesk_set_password(login, verifier) takes a SCRAM verifier (the
-- client computes it: the password never reaches the server), for an active agent's role that this helpdesk made
-- (helpdesk_roles lists them), so an admin cannot take over a DBA's or another service's role by its password.
GRANT EXECUTE ON FUNCTION helpdesk_sync_role(text), helpdesk_set_password(text, text) TO {admin};

-- The sweep's `system` events (schema v3): the sweeper runs in whichever agent's console holds its lease, under
-- that agent's login, so no role or SET ROLE could be kept from the same agent's psql. Instead the stamp trigger
-- accepts the actor `system` only from the insert helpdesk_system_event makes (it leaves a row in
-- helpdesk_system_events, which no agent may write, for that insert of its own transaction), and that function
-- records only the sweep's three kinds, when the database sees them due: an SLA warning or breach for a mark this
-- transaction added (one event per mark, the ticket open), an auto-close of a ticket this transaction closed
-- unconfirmed whose resolution is older than the policy's auto_close_days; never before the ticket's last event,
-- never in the future or backfilled but for an admin. It cannot recompute an SLA clock (the calendars are Python),
-- so every such event is witnessed: helpdesk_system_events names the login whose console wrote it.
GRANT EXECUTE ON FUNCTION helpdesk_system_event(bigint, text, text, text, text, text, integer) TO {agent};

-- Agents may make temporary tables (TEMPORARY, above), and PostgreSQL looks an unqualified table name up in the
-- session's temporary schema first unless the search_path lists it: every PL/pgSQL function of the helpdesk, the
-- SECURITY DEFINER ones above all, searches `public, pg_temp` (schema v3), so an agent's own temporary `agents` or
-- `helpdesk_copies` is never read for the real one (tested).
