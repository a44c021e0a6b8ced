"""Watch with the official client: kubernetes.watch.Watch sends `watch=True` (Python's spelling);
events from a resourceVersion; a forced compaction answered 410 Expired; relist and go on."""
import unittest

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from lab import api_client, config_map, fault, unique

NS = "default"


class Watch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v1 = client.CoreV1Api(api_client())

    def test_watch_true_streams_events_from_a_resource_version(self):
        rv = self.v1.list_namespaced_config_map(NS).metadata.resource_version
        name = unique("w")
        self.v1.create_namespaced_config_map(NS, config_map(name))
        self.v1.patch_namespaced_config_map(name, NS, {"data": {"a": "1"}})
        self.v1.delete_namespaced_config_map(name, NS)
        w = watch.Watch()
        seen = []
        for e in w.stream(
            self.v1.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=10
        ):
            if e["object"].metadata.name == name:
                seen.append(e["type"])
            if len(seen) == 3:
                w.stop()
        self.assertEqual(seen, ["ADDED", "MODIFIED", "DELETED"])

    def test_a_forced_410_is_an_expired_error_and_a_relist_resumes(self):
        rv = self.v1.list_namespaced_config_map(NS).metadata.resource_version
        first = unique("before")
        self.v1.create_namespaced_config_map(NS, config_map(first))
        w = watch.Watch()
        for e in w.stream(
            self.v1.list_namespaced_config_map, NS, resource_version=rv, timeout_seconds=10
        ):
            if e["object"].metadata.name == first:
                # compaction ends this watch; resuming from what it saw must be refused
                self.assertNotEqual(fault("expireWatches"), "")
        last = w.resource_version
        self.assertIsNotNone(last)
        with self.assertRaises(ApiException) as ctx:
            for _ in watch.Watch().stream(
                self.v1.list_namespaced_config_map, NS, resource_version=last, timeout_seconds=5
            ):
                self.fail("no event may come from a compacted resourceVersion")
        self.assertEqual(ctx.exception.status, 410)
        self.assertRegex(ctx.exception.reason, r"^Expired: too old resource version: \d+ \(\d+\)$")

        fresh = self.v1.list_namespaced_config_map(NS).metadata.resource_version
        second = unique("after")
        self.v1.create_namespaced_config_map(NS, config_map(second))
        w = watch.Watch()
        got = None
        for e in w.stream(
            self.v1.list_namespaced_config_map, NS, resource_version=fresh, timeout_seconds=10
        ):
            got = (e["type"], e["object"].metadata.name)
            w.stop()
        self.assertEqual(got, ("ADDED", second))


if __name__ == "__main__":
    unittest.main()
