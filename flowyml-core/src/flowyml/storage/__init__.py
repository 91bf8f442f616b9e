"""Where runs and artifacts live: the SQLite run store, the cache index, artifact stores
and materializers."""
