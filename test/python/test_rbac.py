"""ServiceAccount tokens and RBAC with the official client: a token from the TokenRequest API,
the 401 of an unknown token, no token as system:anonymous, the 403 Status of a request no role allows (as kube-apiserver
words it), SelfSubjectAccessReview before and after a Role and RoleBinding, with the RBAC
authorizer's "allowed by" reason."""
import copy
import json
import unittest

from kubernetes import client
from kubernetes.client.rest import ApiException

from lab import api_client, grant, unique

NS = "default"


def as_token(admin, token):
    """The admin's client configuration with another bearer token, or none (None)."""
    conf = copy.copy(admin.configuration)
    conf.api_key = {} if token is None else {"authorization": "Bearer " + token}
    conf.api_key_prefix = {}
    return client.ApiClient(conf)


class Rbac(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.admin = api_client()
        cls.v1 = client.CoreV1Api(cls.admin)
        cls.rbac = client.RbacAuthorizationV1Api(cls.admin)
        cls.sa = unique("py-bot")
        cls.user = f"system:serviceaccount:{NS}:{cls.sa}"
        sa = client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=cls.sa))
        cls.v1.create_namespaced_service_account(NS, sa)
        spec = client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
        req = client.AuthenticationV1TokenRequest(spec=spec)
        made = cls.v1.create_namespaced_service_account_token(cls.sa, NS, req)
        cls.token = made.status.token
        cls.bot = as_token(cls.admin, cls.token)

    def review(self, verb, resource):
        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    namespace=NS, verb=verb, resource=resource
                )
            )
        )
        return client.AuthorizationV1Api(self.bot).create_self_subject_access_review(review).status

    def test_token_request_answer(self):
        req = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
        made = self.v1.create_namespaced_service_account_token(self.sa, NS, req)
        self.assertEqual(made.spec.expiration_seconds, 3600)
        self.assertEqual(made.spec.audiences, ["https://kubernetes.default.svc.cluster.local"])
        self.assertTrue(made.status.expiration_timestamp)

    def test_unknown_token_is_401(self):
        with self.assertRaises(ApiException) as ctx:
            client.CoreV1Api(as_token(self.admin, "nope")).list_namespaced_config_map(NS)
        self.assertEqual(ctx.exception.status, 401)
        self.assertEqual(json.loads(ctx.exception.body)["reason"], "Unauthorized")

    def test_no_token_is_system_anonymous(self):
        anonymous = as_token(self.admin, None)
        with self.assertRaises(ApiException) as ctx:
            client.CoreV1Api(anonymous).list_namespaced_config_map(NS)
        self.assertEqual(ctx.exception.status, 403)
        status = json.loads(ctx.exception.body)
        self.assertEqual(
            status["message"],
            'configmaps is forbidden: User "system:anonymous" cannot list resource "configmaps" '
            f'in API group "" in the namespace "{NS}"',
        )
        self.assertEqual(status["details"], {"kind": "configmaps"})
        # system:public-info-viewer: /version for everyone
        self.assertEqual(client.VersionApi(anonymous).get_code().git_version, "v1.32.4-lab")

    def test_forbidden_then_allowed_by_a_role(self):
        with self.assertRaises(ApiException) as ctx:
            client.CoreV1Api(self.bot).list_namespaced_config_map(NS)
        self.assertEqual(ctx.exception.status, 403)
        status = json.loads(ctx.exception.body)
        self.assertEqual(status["reason"], "Forbidden")
        self.assertEqual(
            status["message"],
            f'configmaps is forbidden: User "{self.user}" cannot list resource "configmaps" '
            f'in API group "" in the namespace "{NS}"',
        )
        self.assertEqual(status["details"], {"kind": "configmaps"})
        self.assertFalse(self.review("list", "configmaps").allowed)

        role = grant(self.rbac, NS, self.sa, "list", "configmaps", "py-read")
        client.CoreV1Api(self.bot).list_namespaced_config_map(NS)
        allowed = self.review("list", "configmaps")
        self.assertTrue(allowed.allowed)
        self.assertEqual(
            allowed.reason,
            f'RBAC: allowed by RoleBinding "{role}/{NS}" of Role "{role}" to ServiceAccount "{self.sa}/{NS}"',
        )
        self.assertFalse(self.review("delete", "configmaps").allowed)


if __name__ == "__main__":
    unittest.main()
