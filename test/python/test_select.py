"""Label and field selectors, and paging with limit/continue, with the typed client."""
import unittest

from kubernetes import client
from kubernetes.client.rest import ApiException

from lab import api_client, config_map, unique

NS = "default"


class Selectors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.v1 = client.CoreV1Api(api_client())
        cls.tag = unique("sel")
        cls.names = {}
        for tier, colour in [("web", "red"), ("web", "blue"), ("db", "red"), ("cache", None)]:
            labels = {"run": cls.tag, "tier": tier}
            if colour:
                labels["colour"] = colour
            name = unique(tier)
            cls.v1.create_namespaced_config_map(NS, config_map(name, labels))
            cls.names[name] = labels

    def select(self, selector):
        items = self.v1.list_namespaced_config_map(NS, label_selector=f"run={self.tag},{selector}").items
        return sorted(i.metadata.name for i in items)

    def expect(self, pred):
        return sorted(n for n, l in self.names.items() if pred(l))

    def test_label_selector_operators(self):
        self.assertEqual(self.select("tier=web"), self.expect(lambda l: l["tier"] == "web"))
        self.assertEqual(self.select("tier!=web"), self.expect(lambda l: l["tier"] != "web"))
        self.assertEqual(self.select("tier in (db,cache)"), self.expect(lambda l: l["tier"] in ("db", "cache")))
        self.assertEqual(self.select("tier notin (web)"), self.expect(lambda l: l["tier"] != "web"))
        self.assertEqual(self.select("colour"), self.expect(lambda l: "colour" in l))
        self.assertEqual(self.select("!colour"), self.expect(lambda l: "colour" not in l))

    def test_field_selector(self):
        name = sorted(self.names)[0]
        items = self.v1.list_namespaced_config_map(NS, field_selector=f"metadata.name={name}").items
        self.assertEqual([i.metadata.name for i in items], [name])
        with self.assertRaises(ApiException) as ctx:
            self.v1.list_namespaced_config_map(NS, field_selector="data.a=1")
        self.assertEqual(ctx.exception.status, 400)
        self.assertIn("field label not supported: data.a", ctx.exception.body)

    def test_pages_of_two_cover_everything_once(self):
        seen, token, pages = [], None, 0
        while True:
            page = self.v1.list_namespaced_config_map(
                NS, label_selector=f"run={self.tag}", limit=2, _continue=token
            )
            pages += 1
            seen += [i.metadata.name for i in page.items]
            token = page.metadata._continue
            if not token:
                break
            self.assertEqual(page.metadata.remaining_item_count, len(self.names) - len(seen))
        self.assertEqual(pages, 2)
        self.assertEqual(sorted(seen), sorted(self.names))

    def test_a_garbage_continue_token_is_400(self):
        with self.assertRaises(ApiException) as ctx:
            self.v1.list_namespaced_config_map(NS, limit=1, _continue="garbage")
        self.assertEqual(ctx.exception.status, 400)


if __name__ == "__main__":
    unittest.main()
