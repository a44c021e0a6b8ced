"""The patch types with the official client: a list body is a JSON patch, a dict a strategic
merge patch (the typed client's choice); merge patches and server-side apply through the
dynamic client, which also reads discovery."""
import json
import unittest

from kubernetes import client, dynamic
from kubernetes.client.rest import ApiException

from lab import api_client, unique

NS = "default"


def service(name, ports):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": ports},
    }


class Patches(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.api = api_client()
        cls.v1 = client.CoreV1Api(cls.api)
        cls.dyn = dynamic.DynamicClient(cls.api)
        cls.services = cls.dyn.resources.get(api_version="v1", kind="Service")

    def make(self):
        name = unique("svc")
        self.v1.create_namespaced_service(NS, service(name, [{"name": "http", "port": 80, "targetPort": 8080}]))
        return name

    def test_json_patch(self):
        name = self.make()
        got = self.v1.patch_namespaced_service(name, NS, [{"op": "add", "path": "/metadata/labels", "value": {"k": "v"}}])
        self.assertEqual(got.metadata.labels, {"k": "v"})

    def test_strategic_merge_adds_a_port_by_its_merge_key(self):
        name = self.make()
        got = self.v1.patch_namespaced_service(name, NS, {"spec": {"ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}})
        self.assertEqual(sorted(p.port for p in got.spec.ports), [53, 80])

    def test_merge_patch_replaces_the_list(self):
        name = self.make()
        got = self.services.patch(
            name=name,
            namespace=NS,
            body={"spec": {"ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}},
            content_type="application/merge-patch+json",
        )
        self.assertEqual([p.port for p in got.spec.ports], [53])

    def test_server_side_apply_conflict_then_force(self):
        name = unique("ssa")
        body = service(name, [{"name": "http", "port": 80, "targetPort": 8080}])
        # the client sends apply bodies only as text (it refuses a dict for application/apply-patch+yaml)
        apply = lambda manager, **kw: self.services.server_side_apply(
            body=json.dumps(body), name=name, namespace=NS, field_manager=manager, **kw
        )
        made = apply("alice")
        self.assertEqual([(m.manager, m.operation) for m in made.metadata.managedFields], [("alice", "Apply")])
        body["spec"]["ports"][0]["targetPort"] = 9090
        with self.assertRaises(ApiException) as ctx:
            apply("bob")
        self.assertEqual(ctx.exception.status, 409)
        self.assertEqual(
            json.loads(ctx.exception.body)["message"],
            'Apply failed with 1 conflict: conflict with "alice": .spec.ports[port=80,protocol="TCP"].targetPort',
        )
        # force_conflicts=True goes on the wire as force=True
        forced = apply("bob", force_conflicts=True)
        self.assertEqual(forced.spec.ports[0].targetPort, 9090)
        self.assertIn("bob", [m.manager for m in forced.metadata.managedFields])


class DryRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v1 = client.CoreV1Api(api_client())

    def test_dry_run_writes_nothing(self):
        name = unique("dry")
        made = self.v1.create_namespaced_service(
            NS, service(name, [{"port": 80}]), dry_run="All"
        )
        self.assertEqual(made.metadata.name, name)
        self.assertTrue(made.spec.cluster_ip, "allocation is simulated")
        with self.assertRaises(ApiException) as ctx:
            self.v1.read_namespaced_service(name, NS)
        self.assertEqual(ctx.exception.status, 404)
        self.v1.create_namespaced_service(NS, service(name, [{"port": 80}]))
        patched = self.v1.patch_namespaced_service(name, NS, {"metadata": {"labels": {"a": "b"}}}, dry_run="All")
        self.assertEqual(patched.metadata.labels, {"a": "b"})
        self.assertIsNone(self.v1.read_namespaced_service(name, NS).metadata.labels)
        self.v1.delete_namespaced_service(name, NS, dry_run="All")
        self.assertEqual(self.v1.read_namespaced_service(name, NS).metadata.name, name)

    def test_bad_write_options_are_422_as_validate_options_says(self):
        with self.assertRaises(ApiException) as ctx:
            self.v1.create_namespaced_service(NS, service(unique("x"), [{"port": 80}]), dry_run="Some")
        self.assertEqual(ctx.exception.status, 422)
        self.assertEqual(
            json.loads(ctx.exception.body)["message"],
            'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Some"}: supported values: "All"',
        )
        with self.assertRaises(ApiException) as ctx:
            self.v1.create_namespaced_service(NS, service(unique("x"), [{"port": 80}]), field_manager="m" * 129)
        self.assertEqual(
            json.loads(ctx.exception.body)["message"],
            'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes',
        )


if __name__ == "__main__":
    unittest.main()
