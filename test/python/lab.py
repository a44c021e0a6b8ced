"""Shared by the conformance scripts: the official client pointed at the API stand-in, and the
fault channel to the Node test that started it (see test/apiserver-python.test.ts).

The runner passes the kubeconfig in KUBECONFIG. A script asks for a fault by printing one line
`@@fault <name>` on stdout and reading the runner's one-line answer on stdin, so a test can
force, for example, a 410 in the middle of a watch exactly when it wants it."""
import os
import sys
import uuid

from kubernetes import client, config


def api_client():
    config.load_kube_config(config_file=os.environ["KUBECONFIG"])
    return client.ApiClient()


def fault(name):
    """Runs a fault of lab/apiserver/faults.ts (e.g. expireWatches) and returns its answer."""
    sys.stdout.write(f"@@fault {name}\n")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip()
    if answer.startswith("error"):
        raise RuntimeError(f"fault {name}: {answer}")
    return answer


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def config_map(name, labels=None, data=None):
    return client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {}), data=data or {}
    )


def grant(rbac, namespace, service_account, verb, resource, prefix="py-role"):
    """A Role allowing `verb` on core `resource` in `namespace`, bound to the ServiceAccount
    there; returns the name both have."""
    role = unique(prefix)
    rbac.create_namespaced_role(
        namespace,
        client.V1Role(
            metadata=client.V1ObjectMeta(name=role),
            rules=[client.V1PolicyRule(api_groups=[""], resources=[resource], verbs=[verb])],
        ),
    )
    rbac.create_namespaced_role_binding(
        namespace,
        client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name=role),
            role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name=role),
            subjects=[client.V1Subject(kind="ServiceAccount", name=service_account, namespace=namespace)],
        ),
    )
    return role
