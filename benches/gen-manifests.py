#!/usr/bin/env python3
"""Write a dump directory of N manifests for the checks benchmark.

Usage: benches/gen-manifests.py OUT_DIR [N=3000] [--flat]

About a quarter of the files are control-plane static pod manifests (kubeadm v1.31 command lines,
four per control-plane node under manifests/<node>/, with flags varied per node so checks both pass
and fail); the rest are RBAC objects, one per file under rbac/ (ClusterRoles, ClusterRoleBindings,
Roles, RoleBindings). Deterministic: the same N gives the same files.

With --flat the static pod manifests carry no node: all of them sit in one manifests/ directory as
<component>-<node>.yaml, as in a Git repository of static pods. Each is then its own component.
"""
import os
import random
import sys

args = [a for a in sys.argv[1:] if a != "--flat"]
flat = "--flat" in sys.argv[1:]
out = args[0]
total = int(args[1]) if len(args) > 1 else 3000
rng = random.Random(42)

control_planes = total // 4 // 4
rbac = total - control_planes * 4

APISERVER = """apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver
  namespace: kube-system
  labels: {{component: kube-apiserver, tier: control-plane}}
spec:
  hostNetwork: true
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.31.4
    command:
    - kube-apiserver
    - --advertise-address={ip}
    - --allow-privileged=true
    - --authorization-mode={authz}
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --enable-admission-plugins={plugins}
    - --enable-bootstrap-token-auth=true
    - --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt
    - --etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt
    - --etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key
    - --etcd-servers=https://127.0.0.1:2379
    - --kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt
    - --kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key
    - --secure-port=6443
    - --service-account-issuer=https://kubernetes.default.svc.cluster.local
    - --service-account-key-file=/etc/kubernetes/pki/sa.pub
    - --service-account-signing-key-file=/etc/kubernetes/pki/sa.key
    - --service-cluster-ip-range=10.96.0.0/12
    - --tls-cert-file=/etc/kubernetes/pki/apiserver.crt
    - --tls-private-key-file=/etc/kubernetes/pki/apiserver.key
{extra}"""

ETCD = """apiVersion: v1
kind: Pod
metadata:
  name: etcd
  namespace: kube-system
  labels: {{component: etcd, tier: control-plane}}
spec:
  hostNetwork: true
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.5.15-0
    command:
    - etcd
    - --advertise-client-urls=https://{ip}:2379
    - --cert-file=/etc/kubernetes/pki/etcd/server.crt
    - --client-cert-auth={cca}
    - --data-dir=/var/lib/etcd
    - --key-file=/etc/kubernetes/pki/etcd/server.key
    - --listen-client-urls=https://127.0.0.1:2379,https://{ip}:2379
    - --name={node}
    - --peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt
    - --peer-client-cert-auth=true
    - --peer-key-file=/etc/kubernetes/pki/etcd/peer.key
    - --peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
    - --trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt
"""

CM = """apiVersion: v1
kind: Pod
metadata:
  name: kube-controller-manager
  namespace: kube-system
  labels: {{component: kube-controller-manager, tier: control-plane}}
spec:
  hostNetwork: true
  containers:
  - name: kube-controller-manager
    image: registry.k8s.io/kube-controller-manager:v1.31.4
    command:
    - kube-controller-manager
    args:
    - --bind-address={bind}
    - --kubeconfig=/etc/kubernetes/controller-manager.conf
    - --root-ca-file=/etc/kubernetes/pki/ca.crt
    - --service-account-private-key-file=/etc/kubernetes/pki/sa.key
    - --use-service-account-credentials=true
    - --profiling={profiling}
"""

SCHED = """apiVersion: v1
kind: Pod
metadata:
  name: kube-scheduler
  namespace: kube-system
  labels: {{component: kube-scheduler, tier: control-plane}}
spec:
  hostNetwork: true
  containers:
  - name: kube-scheduler
    image: registry.k8s.io/kube-scheduler:v1.31.4
    command:
    - kube-scheduler
    - --bind-address=127.0.0.1
    - --kubeconfig=/etc/kubernetes/scheduler.conf
    - --leader-elect=true
"""


def write(rel, text):
    if flat and rel.startswith("manifests/"):
        _, node, name = rel.split("/")
        rel = f"manifests/{name[:-len('.yaml')]}-{node}.yaml"
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


for i in range(1, control_planes + 1):
    node = f"cp-{i}"
    ip = f"10.0.{i // 250}.{10 + i % 250}"
    extra = []
    if rng.random() < 0.2:
        extra.append("    - --anonymous-auth=true\n")
    if rng.random() < 0.5:
        extra.append("    - --profiling=false\n")
    authz = "AlwaysAllow" if rng.random() < 0.05 else "Node,RBAC"
    plugins = "NodeRestriction,EventRateLimit" if rng.random() < 0.3 else "NodeRestriction"
    write(f"manifests/{node}/kube-apiserver.yaml",
          APISERVER.format(ip=ip, authz=authz, plugins=plugins, extra="".join(extra)))
    write(f"manifests/{node}/etcd.yaml",
          ETCD.format(ip=ip, node=node, cca="false" if rng.random() < 0.1 else "true"))
    write(f"manifests/{node}/kube-controller-manager.yaml",
          CM.format(bind="0.0.0.0" if rng.random() < 0.1 else "127.0.0.1",
                    profiling="false" if rng.random() < 0.5 else "true"))
    write(f"manifests/{node}/kube-scheduler.yaml", SCHED.format())

VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
RESOURCES = ["pods", "secrets", "configmaps", "deployments", "services", "pods/exec", "nodes"]

for j in range(rbac):
    kind = ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"][j % 4]
    ns = f"team-{j % 50}"
    name = f"{kind.lower()}-{j}"
    if kind in ("ClusterRole", "Role"):
        rules = []
        for _ in range(rng.randint(1, 4)):
            verbs = ["*"] if rng.random() < 0.05 else rng.sample(VERBS, rng.randint(1, 4))
            res = rng.sample(RESOURCES, rng.randint(1, 3))
            group = '"apps"' if "deployments" in res else '""'
            rules.append(f"- apiGroups: [{group}]\n  resources: [{', '.join(res)}]\n  verbs: [{', '.join(repr(v) if v == '*' else v for v in verbs)}]\n")
        meta = f"metadata:\n  name: {name}\n" + (f"  namespace: {ns}\n" if kind == "Role" else "")
        text = f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\n{meta}rules:\n{''.join(rules)}"
    else:
        role_kind = "ClusterRole" if kind == "ClusterRoleBinding" or rng.random() < 0.5 else "Role"
        role = "cluster-admin" if rng.random() < 0.02 else f"{role_kind.lower()}-{j - 1}"
        meta = f"metadata:\n  name: {name}\n" + (f"  namespace: {ns}\n" if kind == "RoleBinding" else "")
        subj = rng.choice([
            f"- kind: ServiceAccount\n  name: sa-{j}\n  namespace: {ns}\n",
            f"- kind: User\n  name: user-{j}@example.com\n  apiGroup: rbac.authorization.k8s.io\n",
            f"- kind: Group\n  name: group-{j % 20}\n  apiGroup: rbac.authorization.k8s.io\n",
        ])
        text = (f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\n{meta}"
                f"roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {role_kind}\n  name: {role}\n"
                f"subjects:\n{subj}")
    write(f"rbac/{j:05d}-{kind.lower()}.yaml", text)

print(f"wrote {control_planes * 4} static pod manifests ({control_planes} control-plane nodes) "
      f"and {rbac} RBAC objects to {out}")
