"""The machine catalog this distribution ships: Vertex AI custom-training machine types.

``data/vertex_ai_machines.json`` is a dated copy of the machine types and us-central1
prices of the Vertex AI pricing page (its ``source`` and ``as_of`` say which page and
when). A project replaces it without a release by its own ``.flowyml/prices/vertex_ai.json``
(see ``VertexAIOrchestrator.machine_catalog``).
"""

from __future__ import annotations

from importlib import resources as package_files

__all__ = ["SHIPPED_CATALOG"]

#: The catalog file this distribution ships.
SHIPPED_CATALOG = package_files.files("flowyml_gcp").joinpath("data/vertex_ai_machines.json")
