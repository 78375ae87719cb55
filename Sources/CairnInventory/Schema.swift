import CairnCore

/// Every field of the inventory format, in one table.
///
/// The decoder accepts exactly these keys (anything else is an "unknown field" with a
/// did-you-mean), and docs/inventory.md's field reference is generated from this table, with a
/// test that fails when the document and the table differ.
public enum InventorySchema {
    public struct Field: Sendable {
        public let key: String
        public let type: String
        public let defaultValue: String
        public let rules: String
    }

    public struct Section: Sendable {
        /// Where the section sits, e.g. `hosts[]` or `kubernetes.apiEndpoint`; empty for the top level.
        public let path: String
        public let summary: String
        public let fields: [Field]

        public init(path: String, summary: String, fields: [Field]) {
            self.path = path
            self.summary = summary
            self.fields = fields
        }

        public var keys: [String] { fields.map(\.key) }
        public func field(_ key: String) -> Field? { fields.first { $0.key == key } }
    }

    public static let root = Section(
        path: "", summary: "The top level of a cluster file.",
        fields: [
            f(
                "apiVersion", "string", "`\(SupportedVersions.currentAPIVersion)`",
                "The format version; one of " + SupportedVersions.apiVersions.map { "`\($0)`" }.joined(separator: ", ")
                    + "."),
            f("kind", "string", "`Cluster`", "Must be `Cluster`."),
            f(
                "name", "string", "`cairn`",
                "The cluster name: an RFC 1123 label (lowercase letters, digits, `-`, at most 63)."),
            f(
                "stateDir", "path", "`~/.cairn/<name>`",
                "Operator-side state (PKI, journal, kubeconfig). `~` and relative paths are resolved (relative to the inventory file's directory)."
            ),
            f("ssh", "mapping", "see `ssh`", "SSH settings for every host."),
            f("hosts", "list", "required", "The machines; at least one, with at least one `control-plane` host."),
            f("kubernetes", "mapping", "see `kubernetes`", "Kubernetes settings."),
            f("etcd", "mapping", "see `etcd`", "etcd settings."),
            f("addons", "mapping", "see `addons`", "Cluster add-ons."),
            f("artifacts", "mapping", "see `artifacts`", "Where binaries and images come from."),
            f("upgrade", "mapping", "see `upgrade`", "How a Kubernetes upgrade takes nodes out of service."),
            f("certificates", "mapping", "see `certificates`", "When certificates are renewed."),
        ])

    public static let ssh = Section(
        path: "ssh",
        summary: """
            Defaults for every host. Every key except `configFile` may also appear under `hosts[i].ssh` \
            to override it for one host. Precedence: host override, then these defaults, then the \
            ssh_config file, then the built-in default.
            """,
        fields: [
            f(
                "user", "string", "ssh_config `User`, else `root`",
                "A Linux user name: `[a-z_][a-z0-9_-]*`, at most 32 characters."),
            f("port", "integer", "ssh_config `Port`, else `22`", "1–65535."),
            f(
                "identityFile", "path",
                "ssh_config `IdentityFile`, else the existing ones of `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`",
                "A private key; must exist when given. `~` and relative paths are resolved."),
            f(
                "passphraseEnv", "string", "none",
                "Name of an environment variable holding the key's passphrase. Not with `passphraseFile`."),
            f(
                "passphraseFile", "path", "none",
                "A file holding the key's passphrase; must exist. Not with `passphraseEnv`."),
            f(
                "passwordEnv", "string", "none",
                "Name of an environment variable holding a login password; enables password authentication."),
            f("useAgent", "boolean", "`true`", "Offer the identities of the agent at `SSH_AUTH_SOCK`."),
            f(
                "knownHostsFile", "path", "ssh_config `UserKnownHostsFile`, else `~/.ssh/known_hosts`",
                "Where host keys are checked and recorded."),
            f(
                "hostKeyChecking", "enum", "ssh_config `StrictHostKeyChecking`, else `accept-new`",
                "`strict` (the key must already be known), `accept-new` (record unknown keys, refuse changed ones) or `off`."
            ),
            f("bastion", "mapping", "ssh_config `ProxyJump`, else none", "A jump host; see `ssh.bastion`."),
            f(
                "sudo", "enum", "`auto`",
                "`auto` (sudo when the user is not root), `always` or `never`. sudo must not ask for a password."),
            f("connectTimeout", "number", "`10`", "Seconds to wait for a connection; more than 0."),
            f("commandTimeout", "number", "`600`", "Seconds a single remote command may run; more than 0."),
            f(
                "configFile", "path", "`~/.ssh/config` when it exists",
                "The OpenSSH client config to honour; `none` disables it. Must exist when given. Top level only."),
        ])

    public static let bastion = Section(
        path: "ssh.bastion", summary: "A jump host (also allowed under `hosts[i].ssh.bastion`).",
        fields: [
            f("address", "string", "required", "IP address, DNS name or ssh_config alias of the jump host."),
            f("port", "integer", "ssh_config `Port` for it, else `22`", "1–65535."),
            f("user", "string", "ssh_config `User` for it, else the host's user", "A Linux user name."),
            f("identityFile", "path", "the host's identity files", "A private key; must exist when given."),
        ])

    public static let host = Section(
        path: "hosts[]", summary: "One machine.",
        fields: [
            f(
                "name", "string", "required",
                "RFC 1123 lowercase hostname (labels of `[a-z0-9-]`, dots between, at most 253); the Kubernetes node name. Unique."
            ),
            f(
                "address", "string", "required",
                "Where to connect over SSH: an IPv4/IPv6 address, a DNS name or an ssh_config `Host` alias. Unique."),
            f(
                "internalAddress", "IP address",
                "`address` when it is an IP, else ssh_config `HostName` when that is an IP",
                "The address cluster traffic uses (etcd, apiserver, node IP). Required when neither default is an IP. Unique."
            ),
            f(
                "roles", "list of enum", "required",
                "At least one of `etcd`, `control-plane`, `worker`, without repeats."),
            f(
                "labels", "mapping", "none",
                "Kubernetes node labels; keys `[prefix/]name`, values at most 63 characters of `[A-Za-z0-9-_.]`."),
            f(
                "zone", "string", "none",
                "The failure domain (a room, a rack row, a cloud zone): the node label `topology.kubernetes.io/zone`. With two or more zones, `validate` warns when losing one zone would lose etcd quorum or every control-plane host."
            ),
            f("region", "string", "none", "The node label `topology.kubernetes.io/region`."),
            f("taints", "list", "none", "Kubernetes node taints; see `hosts[].taints[]`."),
            f("storage", "mapping", "none", "Disks for Ceph; see `hosts[].storage`."),
            f(
                "ssh", "mapping", "none",
                "Overrides of the `ssh` defaults for this host (any `ssh` key but `configFile`)."),
        ])

    public static let taint = Section(
        path: "hosts[].taints[]", summary: "A node taint.",
        fields: [
            f("key", "string", "required", "Label-key syntax."),
            f("value", "string", "none", "Label-value syntax."),
            f("effect", "enum", "required", "`NoSchedule`, `PreferNoSchedule` or `NoExecute`."),
        ])

    public static let storage = Section(
        path: "hosts[].storage", summary: "Disks handed to Rook/Ceph.",
        fields: [
            f(
                "devices", "list of strings", "none",
                "Absolute device paths `^/dev/[A-Za-z0-9/_.-]+$` without `..`; Ceph wipes them. Unique per host.")
        ])

    public static let kubernetes = Section(
        path: "kubernetes", summary: "Kubernetes settings.",
        fields: [
            f(
                "version", "string", "`\(SupportedVersions.kubernetes.defaultVersion)`",
                versions(SupportedVersions.kubernetes)
                    + "; a minor alone (`\"1.36\"`) means its newest patch. End-of-life versions are refused with the date they ended."
            ),
            f(
                "podSubnet", "CIDR", "`10.244.0.0/16`",
                "Host bits clear; must not overlap `serviceSubnet`, MetalLB pools, nor contain a host address; prefix no longer than Calico's `blockSize`."
            ),
            f(
                "serviceSubnet", "CIDR", "`10.96.0.0/12`",
                "Host bits clear; at most 20 host bits (/12 for IPv4, /108 for IPv6); must not overlap `podSubnet`, MetalLB pools, nor contain a host address."
            ),
            f("clusterDomain", "string", "`cluster.local`", "A lowercase DNS name."),
            f("proxyMode", "enum", "`iptables`", "`iptables`, `nftables`, or `ipvs` (deprecated since 1.35: warning)."),
            f("apiEndpoint", "mapping", "see `kubernetes.apiEndpoint`", "How clients reach the API servers."),
        ])

    public static let apiEndpoint = Section(
        path: "kubernetes.apiEndpoint",
        summary: """
            At most one of `haproxyKeepalived`, `kubeVip`, `external`, `nodeLocal`. With none, clients go \
            straight to the control-plane host, which is allowed only when there is exactly one.
            """,
        fields: [
            f(
                "port", "integer", "`6443` (`8443` with haproxyKeepalived)",
                "1–65535. With haproxyKeepalived, haproxy shares the control-plane hosts with kube-apiserver (6443), so the endpoint needs another port."
            ),
            f(
                "haproxyKeepalived", "mapping", "none",
                "haproxy and keepalived on the control-plane hosts, holding a virtual IP."),
            f("kubeVip", "mapping", "none", "kube-vip on the control-plane hosts, holding a virtual IP."),
            f("external", "mapping", "none", "A load balancer you run; see `kubernetes.apiEndpoint.external`."),
            f(
                "nodeLocal", "mapping", "none",
                "A balancer on every host in front of every API server, reached at 127.0.0.1:`port` (`::1` with IPv6), as kubespray does by default; no virtual IP, no external balancer. Workers run haproxy there; control-plane hosts use their own API server (with another `port` than 6443, an haproxy of their own that prefers it). kubeadm's endpoint is the name `kube-apiserver.cairn.internal`, which Cairn maps in every host's /etc/hosts. `nodeLocal: {}` takes the defaults; see `kubernetes.apiEndpoint.nodeLocal`."
            ),
            f(
                "extraSANs", "list of strings", "none",
                "Extra API server certificate names: IP addresses or DNS names (`*.` wildcard allowed)."),
        ])

    static let vipRules = """
        An IP address that is no host's address, inside the subnet of at least one control-plane host's \
        `internalAddress`. The inventory has no prefix lengths, so that subnet is taken as the /24 (IPv4) \
        or /64 (IPv6) around each control-plane address unless `virtualIPPrefix` says otherwise.
        """

    public static let haproxyKeepalived = Section(
        path: "kubernetes.apiEndpoint.haproxyKeepalived", summary: "",
        fields: [
            f("virtualIP", "IP address", "required", vipRules),
            f(
                "virtualIPPrefix", "integer", "`24` (IPv4), `64` (IPv6)",
                "The prefix length of the control-plane subnet; 8–32 (IPv4) or 8–128 (IPv6)."),
            f("interface", "string", "the interface carrying the host's internal address", "A Linux interface name."),
            f("virtualRouterID", "integer", "`51`", "VRRP router ID, 1–255; unique on the network segment."),
        ])

    public static let kubeVip = Section(
        path: "kubernetes.apiEndpoint.kubeVip", summary: "",
        fields: [
            f("virtualIP", "IP address", "required", vipRules),
            f("virtualIPPrefix", "integer", "`24` (IPv4), `64` (IPv6)", "As for `haproxyKeepalived`."),
            f("interface", "string", "the interface carrying the host's internal address", "A Linux interface name."),
        ])

    public static let external = Section(
        path: "kubernetes.apiEndpoint.external", summary: "",
        fields: [
            f(
                "address", "string", "required",
                "DNS name or IP address of the balancer, which forwards to port `port` of every control-plane host.")
        ])

    public static let nodeLocal = Section(
        path: "kubernetes.apiEndpoint.nodeLocal", summary: "",
        fields: [
            f("engine", "enum", "`haproxy`", "What balances on each host: `haproxy`.")
        ])

    public static let etcd = Section(
        path: "etcd",
        summary: """
            etcd runs on the hosts with role `etcd`, as a systemd service (kubeadm's "external etcd"). \
            The member count must be odd and at least 3; 1 is allowed only with `allowSingleMember: true`.
            """,
        fields: [
            f(
                "version", "string", "`3.7.2` with Kubernetes 1.37, else `\(SupportedVersions.etcd.defaultVersion)`",
                versions(SupportedVersions.etcd) + "; 3.5 and older are refused."),
            f("dataDir", "path", "`/var/lib/etcd`", "Absolute path on the etcd hosts."),
            f("allowSingleMember", "boolean", "`false`", "Allow a single etcd member (no fault tolerance)."),
            f("heartbeatInterval", "integer", "`250`", "Milliseconds; more than 0."),
            f("electionTimeout", "integer", "`5000`", "Milliseconds; at least 5 × `heartbeatInterval`, at most 50000."),
            f("quotaBackendBytes", "integer", "`2147483648`", "More than 0; above 8 GiB draws a warning."),
            f("snapshotCount", "integer", "`10000`", "More than 0."),
            f(
                "removeMembersNotInInventory", "boolean", "`false`",
                "Let `apply` remove etcd members whose host is no longer listed."),
        ])

    /// `addons`: one mapping per registered add-on.
    public static func addons(_ types: [any AddonSettings.Type]) -> Section {
        Section(
            path: "addons", summary: "Cluster add-ons, each defined by its component in `Sources/CairnPhases/Addons/`.",
            fields: types.map { f($0.key, "mapping", "see `addons.\($0.key)`", $0.summary) })
    }

    public static let artifacts = Section(
        path: "artifacts", summary: "",
        fields: [
            f("source", "enum", "`upstream`", "`upstream` (the projects' release URLs) or `mirror` (air-gapped)."),
            f(
                "mirror", "string", "none",
                "Required with `source: mirror`: a local directory (`~` and relative paths resolved; must exist) or a `file://`, `http://` or `https://` URL."
            ),
        ])

    public static let upgrade = Section(
        path: "upgrade",
        summary: """
            Raising `kubernetes.version` upgrades the cluster node by node (docs/upgrade.md): control-plane \
            hosts one at a time, then workers in batches; each node is drained through the Eviction API first.
            """,
        fields: [
            f(
                "maxUnavailable", "integer", "`1`",
                "Workers drained and upgraded at once; 1–1000. Storage hosts go one at a time."),
            f(
                "groupLabel", "string", "none",
                "A node label key (for example `topology.kubernetes.io/zone`): one batch never holds more than `maxUnavailablePerGroup` workers with the same value, so a whole zone or tier never drains at once."
            ),
            f("maxUnavailablePerGroup", "integer", "`1`", "1–1000; needs `groupLabel`."),
            f(
                "drainTimeout", "integer", "`300`",
                "Seconds one drain may wait for evictions that PodDisruptionBudgets hold back (10–86400); then the node is uncordoned and the run stops (exit 75)."
            ),
        ])

    public static let certificates = Section(
        path: "certificates",
        summary: """
            kubeadm's certificates and Cairn's etcd certificates last a year (docs/certificates.md). \
            `cairn certs` lists them all; `apply` renews what ends soon, one host at a time.
            """,
        fields: [
            f(
                "renewBeforeDays", "integer", "`90`",
                "1–300. `apply` renews a certificate that ends within this many days (kubeadm's on each control-plane host, then its static pods restarted; Cairn's etcd certificates with a rolling restart); `cairn certs` exits 75 while one does."
            )
        ])

    /// Every section, with the add-ons' own.
    public static func sections(addons types: [any AddonSettings.Type]) -> [Section] {
        [
            root, ssh, bastion, host, taint, storage, kubernetes, apiEndpoint, haproxyKeepalived, kubeVip, external,
            nodeLocal, etcd, addons(types),
        ]
            + types.flatMap { $0.sections } + [artifacts, upgrade, certificates]
    }

    public static func f(_ key: String, _ type: String, _ defaultValue: String, _ rules: String) -> Field {
        Field(key: key, type: type, defaultValue: defaultValue, rules: rules)
    }

    public static func versions(_ component: SupportedVersions.Component) -> String {
        "one of " + component.supported.map { "`\($0)`" }.joined(separator: ", ")
    }
}

extension InventorySchema {
    /// The field reference of docs/inventory.md, generated from the table above.
    public static func referenceMarkdown(addons types: [any AddonSettings.Type]) -> String {
        var out = ""
        for section in sections(addons: types) {
            let title = section.path.isEmpty ? "Top level" : "`\(section.path)`"
            out += "### \(title)\n\n"
            if !section.summary.isEmpty { out += section.summary + "\n\n" }
            out += "| field | type | default | rules |\n|---|---|---|---|\n"
            for field in section.fields {
                let rules = field.rules.replacingOccurrences(of: "|", with: "\\|")
                out += "| `\(field.key)` | \(field.type) | \(field.defaultValue) | \(rules) |\n"
            }
            out += "\n"
        }
        out += "### Supported versions\n\n"
        out += "Kubernetes and etcd: `Sources/CairnInventory/SupportedVersions.swift`; each add-on's: its component. "
        out += "Any other version is refused.\n\n"
        out += "| field | supported | default |\n|---|---|---|\n"
        for component in SupportedVersions.all + types.flatMap({ $0.versions }) {
            out +=
                "| `\(component.label)` | " + component.supported.map { "`\($0)`" }.joined(separator: ", ")
                + " | `\(component.defaultVersion)` |\n"
        }
        return out
    }
}
