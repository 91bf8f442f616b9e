"""Hook specifications, and the discovery of installed plugins through the ``flowyml``
entry-point group."""
