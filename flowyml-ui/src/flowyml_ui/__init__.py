"""flowyml-ui: ``flowyml ui``, a live web page of a project's runs, steps, DAG and logs."""

__all__: list[str] = []
