"""Migration scripts, applied in order by ``fieldpass.server.db.init_db``."""
