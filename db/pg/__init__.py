"""The PostgreSQL store (psycopg 3): schema, privileges and the Store's interface over a server shared by a team."""
