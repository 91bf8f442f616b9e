"""flowyml-gcp registers through the entry-point group without loading the Google SDKs."""

from __future__ import annotations

import subprocess
import sys


def test_import_and_backends_listing_do_not_load_the_vertex_sdks():
    code = (
        "import sys, flowyml_gcp\n"
        "from flowyml.plugins.manager import get_plugin_manager\n"
        "info = get_plugin_manager().get_backend('vertex_ai')\n"
        "assert info.distribution == 'flowyml-gcp', info\n"
        "assert 'gs' in get_plugin_manager().artifact_store_classes()\n"
        "heavy = [m for m in sys.modules if m.startswith(('google.cloud.aiplatform',"
        " 'google.cloud.logging', 'google.cloud.storage'))]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_gcs_store_round_trips_values_and_names(gcs_emulator, gcs_bucket):
    import numpy as np

    from flowyml_gcp import GCSArtifactStore

    store = GCSArtifactStore(f"gs://{gcs_bucket}/root", endpoint=gcs_emulator.endpoint)
    ref = store.save(np.arange(10))
    assert ref.uri.startswith(f"gs://{gcs_bucket}/root/objects/")
    assert GCSArtifactStore.root_of(ref.uri) == f"gs://{gcs_bucket}/root"
    assert np.array_equal(store.load(ref.uri), np.arange(10))
    assert store.save(np.arange(10)).uri == ref.uri  # content-addressed
    store.write_named("runs/r/manifest.json", b"{}")
    assert store.read_named("runs/r/manifest.json") == b"{}"
    assert store.exists(ref.uri) and not store.exists(ref.uri + "x")
