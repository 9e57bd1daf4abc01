"""Persistence: schema, migrations, connections, queries and commands. No Textual, no application rules."""
