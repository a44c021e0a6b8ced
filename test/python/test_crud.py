"""CRUD with the typed clients, and the errors as the real server words them."""
import json
import unittest

from kubernetes import client
from kubernetes.client.rest import ApiException

from lab import api_client, config_map, unique

NS = "default"


def status_of(e):
    return json.loads(e.body)


class ConfigMaps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v1 = client.CoreV1Api(api_client())

    def test_create_read_replace_delete(self):
        name = unique("crud")
        made = self.v1.create_namespaced_config_map(NS, config_map(name, data={"a": "1"}))
        self.assertTrue(made.metadata.uid)
        self.assertTrue(made.metadata.resource_version)
        self.assertEqual(made.metadata.managed_fields[0].manager, "OpenAPI-Generator")
        self.assertEqual(made.metadata.managed_fields[0].operation, "Update")
        got = self.v1.read_namespaced_config_map(name, NS)
        self.assertEqual(got.data, {"a": "1"})
        got.data["b"] = "2"
        replaced = self.v1.replace_namespaced_config_map(name, NS, got)
        self.assertEqual(replaced.data, {"a": "1", "b": "2"})
        self.assertGreater(int(replaced.metadata.resource_version), int(got.metadata.resource_version))
        gone = self.v1.delete_namespaced_config_map(name, NS)
        self.assertEqual(gone.status, "Success")
        self.assertEqual(gone.details.name, name)
        with self.assertRaises(ApiException) as ctx:
            self.v1.read_namespaced_config_map(name, NS)
        self.assertEqual(ctx.exception.status, 404)
        s = status_of(ctx.exception)
        self.assertEqual((s["reason"], s["message"]), ("NotFound", f'configmaps "{name}" not found'))

    def test_stale_update_conflicts_and_duplicate_create_already_exists(self):
        name = unique("conflict")
        made = self.v1.create_namespaced_config_map(NS, config_map(name))
        self.v1.patch_namespaced_config_map(name, NS, {"data": {"x": "1"}})
        made.data = {"y": "2"}
        with self.assertRaises(ApiException) as ctx:
            self.v1.replace_namespaced_config_map(name, NS, made)
        self.assertEqual(ctx.exception.status, 409)
        s = status_of(ctx.exception)
        self.assertEqual(s["reason"], "Conflict")
        self.assertEqual(
            s["message"],
            f'Operation cannot be fulfilled on configmaps "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again",
        )
        with self.assertRaises(ApiException) as ctx:
            self.v1.create_namespaced_config_map(NS, config_map(name))
        s = status_of(ctx.exception)
        self.assertEqual((ctx.exception.status, s["reason"]), (409, "AlreadyExists"))
        self.assertEqual(s["message"], f'configmaps "{name}" already exists')

    def test_a_resource_version_on_create_is_refused_as_etcd3_does(self):
        body = config_map(unique("rv"))
        body.metadata.resource_version = "5"
        with self.assertRaises(ApiException) as ctx:
            self.v1.create_namespaced_config_map(NS, body)
        s = status_of(ctx.exception)
        self.assertEqual(ctx.exception.status, 500)
        self.assertEqual(s["message"], "resourceVersion should not be set on objects to be created")
        self.assertNotIn("reason", s)
        body.metadata.resource_version = "0"
        self.assertTrue(self.v1.create_namespaced_config_map(NS, body).metadata.uid, '"0" is no version')

    def test_invalid_name_is_422_with_causes(self):
        with self.assertRaises(ApiException) as ctx:
            self.v1.create_namespaced_config_map(NS, config_map("Not_A_Name"))
        s = status_of(ctx.exception)
        self.assertEqual((ctx.exception.status, s["reason"]), (422, "Invalid"))
        self.assertEqual(s["details"]["causes"][0]["field"], "metadata.name")


class Deployments(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.apps = client.AppsV1Api(api_client())

    def deployment(self, name):
        labels = {"app": name}
        return client.V1Deployment(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1DeploymentSpec(
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="x")]),
                ),
            ),
        )

    def test_defaults_scale_subresource_and_delete(self):
        name = unique("dep")
        made = self.apps.create_namespaced_deployment(NS, self.deployment(name))
        self.assertEqual(made.spec.replicas, 1)
        self.assertEqual(made.spec.strategy.type, "RollingUpdate")
        self.assertEqual(made.spec.strategy.rolling_update.max_surge, "25%")
        self.assertEqual(made.spec.revision_history_limit, 10)
        self.assertEqual(made.metadata.generation, 1)
        scale = self.apps.read_namespaced_deployment_scale(name, NS)
        self.assertEqual((scale.kind, scale.spec.replicas), ("Scale", 1))
        scaled = self.apps.patch_namespaced_deployment_scale(name, NS, {"spec": {"replicas": 3}})
        self.assertEqual(scaled.spec.replicas, 3)
        after = self.apps.read_namespaced_deployment(name, NS)
        self.assertEqual((after.spec.replicas, after.metadata.generation), (3, 2))
        scale = self.apps.read_namespaced_deployment_scale(name, NS)
        scale.spec.replicas = 0
        self.assertEqual(self.apps.replace_namespaced_deployment_scale(name, NS, scale).spec.replicas, 0)
        # apps registries do not return the deleted object: a Status, as for ConfigMaps
        gone = self.apps.delete_namespaced_deployment(name, NS)
        self.assertEqual((gone.kind, gone.status), ("Status", "Success"))


if __name__ == "__main__":
    unittest.main()
