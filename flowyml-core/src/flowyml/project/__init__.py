"""A project: its folder, its ``flowyml.yaml``, its stores, its run history and their
garbage collection."""
