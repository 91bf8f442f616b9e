"""Code fingerprints stay exact in long-lived processes (flowyml/fingerprint.py)."""

from __future__ import annotations

import gc

from flowyml.definition.fingerprint import code_fingerprint

_SOURCE = (
    "THRESH = 0\n"
    "def helper(x):\n    return x > THRESH\n"
    "def direct(x):\n    return x > THRESH\n"
    "def indirect(x):\n    return helper(x)\n"
)


def _namespace() -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(_SOURCE, namespace)
    return namespace


def test_rebinding_a_constant_many_times_gives_a_new_fingerprint_each_time():
    namespace = _namespace()
    seen = []
    for i in range(200):
        namespace["THRESH"] = float(i) + 0.5  # a fresh object each time; the old one is freed
        gc.collect()
        seen.append(code_fingerprint(namespace["direct"]))
    assert len(set(seen)) == 200


def test_a_constant_read_by_a_helper_changes_the_callers_fingerprint():
    namespace = _namespace()
    before = code_fingerprint(namespace["indirect"])
    namespace["THRESH"] = 12345.5
    after = code_fingerprint(namespace["indirect"])
    namespace["THRESH"] = 0
    assert before != after
    assert code_fingerprint(namespace["indirect"]) == before


def test_functions_made_by_one_factory_differ_by_what_they_close_over():
    def factory(limit):
        def check(x):
            return x > limit

        return check

    prints = []
    for i in range(100):
        made = factory(float(i) + 0.25)
        prints.append(code_fingerprint(made))
        del made
        gc.collect()
    assert len(set(prints)) == 100


def test_an_unchanged_function_keeps_its_fingerprint():
    namespace = _namespace()
    assert code_fingerprint(namespace["indirect"]) == code_fingerprint(namespace["indirect"])
    assert code_fingerprint(namespace["indirect"]) == code_fingerprint(_namespace()["indirect"])


def test_a_helper_defined_after_the_first_call_is_taken_into_account():
    namespace: dict[str, object] = {}
    exec("def late(x):\n    return later(x)\n", namespace)
    before = code_fingerprint(namespace["late"])
    exec("def later(x):\n    return x + 1\n", namespace)
    assert code_fingerprint(namespace["late"]) != before


def test_a_changed_default_value_changes_the_fingerprint():
    namespace: dict[str, object] = {"THRESH": 1}
    exec("def s(k=THRESH, *, scale=2):\n    return k * scale\n", namespace)
    before = code_fingerprint(namespace["s"])
    namespace["THRESH"] = 5
    exec("def s(k=THRESH, *, scale=2):\n    return k * scale\n", namespace)
    assert code_fingerprint(namespace["s"]) != before
    function = namespace["s"]
    after = code_fingerprint(function)
    function.__kwdefaults__ = {"scale": 3}  # type: ignore[attr-defined]
    assert code_fingerprint(function) != after
