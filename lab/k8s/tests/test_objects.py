"""JSONPath, server-side apply ownership, patches, label selectors (no lab needed)."""
import unittest

import _path  # noqa: F401
import jsonpath
import labelsel
import objects


class JSONPathTests(unittest.TestCase):
    def test_kubectl_templates(self):
        d = {"items": [{"metadata": {"name": "a", "labels": {"kubernetes.io/hostname": "n1"}},
                        "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
                       {"metadata": {"name": "b"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}]}
        self.assertEqual(jsonpath.render("{.items[*].metadata.name}", d), "a b")
        self.assertEqual(jsonpath.render('{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")]'
                                         '.status}{"\\n"}{end}', d), "a=True\nb=False\n")
        self.assertEqual(jsonpath.render("{.items[0].metadata.labels.kubernetes\\.io/hostname}", d), "n1")
        self.assertEqual(jsonpath.render("{.status.loadBalancer.ingress[0].ip}", {"status": {"loadBalancer": {}}}), "")
        with self.assertRaises(jsonpath.JSONPathError):
            jsonpath.render("{.status.loadBalancer.ingress[0].ip}", {"status": {"loadBalancer": {"ingress": []}}})


class ApplyTests(unittest.TestCase):
    def test_conflict_with_other_manager(self):
        live = objects.server_side_apply(None, {"spec": {"replicas": 2, "x": 1}}, "cairn", False, "apps/v1")
        scaled = dict(live, spec=dict(live["spec"], replicas=5))
        scaled = objects.record_update(live, scaled, "kubectl-scale", "apps/v1")
        with self.assertRaises(objects.ApplyConflict) as cm:
            objects.server_side_apply(scaled, {"spec": {"replicas": 2, "x": 1}}, "cairn", False, "apps/v1")
        self.assertEqual(cm.exception.message(),
                         'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas')
        forced = objects.server_side_apply(scaled, {"spec": {"replicas": 2, "x": 1}}, "cairn", True, "apps/v1")
        self.assertEqual(forced["spec"]["replicas"], 2)
        # several conflicts: grouped per manager (sorted), an Apply manager named without a version
        other = objects.server_side_apply(forced, {"spec": {"y": 1}}, "helm", False, "apps/v1")
        edited = objects.record_update(other, dict(other, spec=dict(other["spec"], x=5)), "kubectl-edit", "apps/v1")
        with self.assertRaises(objects.ApplyConflict) as cm:
            objects.server_side_apply(edited, {"spec": {"replicas": 2, "x": 1, "y": 2}}, "cairn", False, "apps/v1")
        self.assertEqual(cm.exception.message(), 'Apply failed with 2 conflicts: conflicts with "helm":\n- .spec.y\n'
                                                 'conflicts with "kubectl-edit" using apps/v1:\n- .spec.x')

    def test_removed_field_is_pruned(self):
        live = objects.server_side_apply(None, {"metadata": {"labels": {"a": "1", "b": "2"}}}, "m", False, "v1")
        new = objects.server_side_apply(live, {"metadata": {"labels": {"a": "1"}}}, "m", False, "v1")
        self.assertEqual(new["metadata"]["labels"], {"a": "1"})

    def test_patches(self):
        self.assertEqual(objects.merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None, "d": 3}}), {"a": {"c": 2, "d": 3}})
        m = objects.strategic_merge_patch({"c": [{"name": "x", "image": "1"}, {"name": "y", "image": "1"}]},
                                          {"c": [{"name": "y", "image": "2"}]})
        self.assertEqual(m["c"], [{"name": "x", "image": "1"}, {"name": "y", "image": "2"}])
        self.assertEqual(objects.json_patch({"a": [1]}, [{"op": "add", "path": "/a/-", "value": 2}]), {"a": [1, 2]})


class SelectorTests(unittest.TestCase):
    def test_string_and_object_selectors(self):
        r = labelsel.parse("app=web,tier!=db,env in (prod,stage),!legacy")
        self.assertTrue(labelsel.matches(r, {"app": "web", "env": "prod"}))
        self.assertFalse(labelsel.matches(r, {"app": "web", "env": "dev"}))
        self.assertTrue(labelsel.match_label_selector({"matchExpressions": [{"key": "k", "operator": "Exists"}]},
                                                      {"k": ""}))
        self.assertFalse(labelsel.match_label_selector(None, {}))


if __name__ == "__main__":
    unittest.main()
