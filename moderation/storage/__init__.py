"""Everything that touches the database: tables, engine and migrations, named write paths."""
