"""The review APIs with the official client: a SubjectAccessReview for a ServiceAccount before and
after a Role allows it, a LocalSubjectAccessReview in its namespace, the 422 of a review naming
no user, and a TokenReview of a TokenRequest token (its user, uid, groups and audiences) and of
a token the server does not know, each decoded into the client's own models."""
import json
import unittest

from kubernetes import client
from kubernetes.client.rest import ApiException

from lab import api_client, grant, unique

NS = "default"
AUDIENCE = "https://kubernetes.default.svc.cluster.local"


class Reviews(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        admin = api_client()
        cls.v1 = client.CoreV1Api(admin)
        cls.rbac = client.RbacAuthorizationV1Api(admin)
        cls.authz = client.AuthorizationV1Api(admin)
        cls.authn = client.AuthenticationV1Api(admin)
        cls.sa = unique("py-reviewed")
        cls.user = f"system:serviceaccount:{NS}:{cls.sa}"
        cls.v1.create_namespaced_service_account(
            NS, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=cls.sa))
        )
        req = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[]))
        cls.token = cls.v1.create_namespaced_service_account_token(cls.sa, NS, req).status.token

    def access(self, user, verb="get", resource="secrets"):
        attrs = client.V1ResourceAttributes(namespace=NS, verb=verb, resource=resource)
        spec = client.V1SubjectAccessReviewSpec(user=user, resource_attributes=attrs)
        return self.authz.create_subject_access_review(client.V1SubjectAccessReview(spec=spec))

    def test_subject_access_review(self):
        before = self.access(self.user)
        self.assertIsInstance(before, client.V1SubjectAccessReview)
        self.assertFalse(before.status.allowed)
        role = grant(self.rbac, NS, self.sa, "get", "secrets", "py-secrets")
        after = self.access(self.user)
        self.assertTrue(after.status.allowed)
        self.assertEqual(
            after.status.reason,
            f'RBAC: allowed by RoleBinding "{role}/{NS}" of Role "{role}" to ServiceAccount "{self.sa}/{NS}"',
        )
        local = self.authz.create_namespaced_local_subject_access_review(
            NS,
            client.V1LocalSubjectAccessReview(
                metadata=client.V1ObjectMeta(namespace=NS),
                spec=client.V1SubjectAccessReviewSpec(
                    user=self.user,
                    resource_attributes=client.V1ResourceAttributes(namespace=NS, verb="get", resource="secrets"),
                ),
            ),
        )
        self.assertEqual(local.metadata.namespace, NS)
        self.assertTrue(local.status.allowed)

    def test_review_without_a_user_is_invalid(self):
        with self.assertRaises(ApiException) as ctx:
            self.access(None)
        self.assertEqual(ctx.exception.status, 422)
        status = json.loads(ctx.exception.body)
        self.assertEqual(
            status["message"],
            'SubjectAccessReview.authorization.k8s.io "" is invalid: '
            'spec.user: Invalid value: "": at least one of user or group must be specified',
        )

    def test_token_review(self):
        review = self.authn.create_token_review(
            client.V1TokenReview(spec=client.V1TokenReviewSpec(token=self.token))
        )
        self.assertIsInstance(review, client.V1TokenReview)
        self.assertTrue(review.status.authenticated)
        self.assertEqual(review.status.user.username, self.user)
        self.assertTrue(review.status.user.uid)
        self.assertEqual(
            review.status.user.groups,
            ["system:serviceaccounts", f"system:serviceaccounts:{NS}", "system:authenticated"],
        )
        self.assertEqual(review.status.audiences, [AUDIENCE])
        unknown = self.authn.create_token_review(
            client.V1TokenReview(spec=client.V1TokenReviewSpec(token="nope"))
        )
        self.assertFalse(unknown.status.authenticated)
        self.assertEqual(unknown.status.error, "invalid bearer token")


if __name__ == "__main__":
    unittest.main()
