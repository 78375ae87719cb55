"""docs/sources/removed-apis.json (the table Cairn's upgrade preflight checks) says exactly what the
Kubernetes OpenAPI definitions in the pinned kubernetes-validate wheel say each release removed."""
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))
import labwheels  # noqa: E402


class RemovedAPIsTest(unittest.TestCase):
    def test_the_table_matches_the_schemas(self):
        with open(os.path.join(REPO, "docs", "sources", "removed-apis.json")) as f:
            table = json.load(f)["removed"]
        for minor in (36, 37):
            written = {(e["groupVersion"], e["kind"]) for e in table["1.%d" % minor]}
            self.assertEqual(written, labwheels.removed_kinds(minor), "1.%d" % minor)
            for entry in table["1.%d" % minor]:
                self.assertTrue(entry["resource"].startswith(entry["kind"].lower()), entry)


if __name__ == "__main__":
    unittest.main()
