"""The decisions store on a central PostgreSQL server (multi-site studies).

Readers keep writing their local SQLite file first (:mod:`studies.decisions.store`); each row is
then pushed to the server (:mod:`.push`), where PostgreSQL's own rights make it append-only for
them: a reader's login role may add rows of its own reader id to its own studies and read them
back, nothing else (:mod:`.schema`). The server numbers each row, stamps it with its own clock
and extends its own hash chain in a trigger. See ``docs/multi-site.md``.

psycopg is imported only by the modules here, and only when a server is used.
"""
