import CairnCore
import Foundation
import Yams

/// Reads a composed YAML document into an `Inventory`, field by field against `InventorySchema`,
/// collecting every problem with its position. Cross-field rules live in `Validation.swift`.
struct InventoryDecoder {
    let context: DecodeContext
    let baseDirectory: String
    let environment: [String: String]
    let fileSystem: InventoryFileSystem
    /// The add-ons whose sections `addons:` may hold.
    let addonTypes: [any AddonSettings.Type]
    var home: String? { environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } }

    /// Facts the cross-field rules need beyond the model.
    struct Facts {
        var endpointModesWritten: [String] = []
        var virtualIPPath: String?
        var sshConfig: SSHConfigFile?
    }

    static let roleAliases = [
        "master": "control-plane", "controller": "control-plane", "controlplane": "control-plane",
        "control_plane": "control-plane", "kube_control_plane": "control-plane", "kube-master": "control-plane",
        "node": "worker", "minion": "worker", "kube_node": "worker", "kube-node": "worker", "workers": "worker",
    ]

    func decode(_ root: Node) -> (Inventory, Facts) {
        var facts = Facts()
        let reader = MappingReader(root, path: "", section: InventorySchema.root, context: context)

        let apiVersion = reader?.string("apiVersion") ?? SupportedVersions.currentAPIVersion
        if reader?.has("apiVersion") == true, !SupportedVersions.apiVersions.contains(apiVersion) {
            context.error(
                "apiVersion",
                "unsupported apiVersion \(DecodeContext.shown(apiVersion)); this Cairn reads "
                    + SupportedVersions.apiVersions.joined(separator: ", "),
                hint: Suggest.hint(for: apiVersion, among: SupportedVersions.apiVersions))
        }
        if let kind = reader?.string("kind"), kind != "Cluster" {
            context.error(
                "kind", "unknown kind \(DecodeContext.shown(kind)); an inventory has kind Cluster",
                hint: Suggest.hint(for: kind, among: ["Cluster"]))
        }
        let name = reader?.string("name") ?? "cairn"
        if reader?.has("name") == true, !Grammar.isDNSLabel(name) {
            context.error(
                "name",
                "cluster name \(DecodeContext.shown(name)) is not an RFC 1123 label: lowercase letters, digits and '-', at most 63, starting and ending with a letter or digit",
                hint: Grammar.isDNSLabel(name.lowercasedASCII) ? "did you mean \"\(name.lowercasedASCII)\"?" : nil)
        }
        var stateDirectory = (home ?? "~") + "/.cairn/" + name
        if let written = reader?.string("stateDir") {
            stateDirectory = resolvePath(written, path: "stateDir") ?? stateDirectory
        }

        var ssh = SSHDefaults()
        if let node = reader?.value("ssh") {
            ssh = decodeSSH(node, path: "ssh", topLevel: true)
        }
        // The ssh_config: as written (`none` disables it), else ~/.ssh/config when it can be read.
        let writtenConfig = reader?.values["ssh"].flatMap { MappingReader.peekString($0, key: "configFile") }
        if writtenConfig == nil, let home {
            ssh.configFile = home + "/.ssh/config"
        }
        if let path = ssh.configFile {
            facts.sshConfig = SSHConfigFile.load(path: path, homeDirectory: home, fileSystem: fileSystem)
            if facts.sshConfig == nil {
                ssh.configFile = nil
                if writtenConfig != nil && fileSystem.fileExists(path) {
                    context.error("ssh.configFile", "cannot read the ssh_config file \(path)")
                }
            }
            for warning in facts.sshConfig?.warnings ?? [] { context.add(warning) }
        }

        var hosts: [Host] = []
        if let node = reader?.value("hosts") {
            if let items = context.list(node, path: "hosts") {
                if items.isEmpty {
                    context.error(
                        "hosts", node: node,
                        "the host list is empty; list at least one host with the control-plane role")
                }
                for item in items {
                    if let host = decodeHost(item.node, path: item.path, sshConfig: facts.sshConfig) {
                        hosts.append(host)
                    }
                }
            }
        } else if reader != nil {
            context.error(
                "hosts", at: SourcePosition(root.mark), "the inventory lists no hosts; add a hosts: list",
                hint:
                    "the smallest inventory is `hosts: [{name: node1, address: 10.0.0.1, roles: [control-plane, etcd, worker]}]` with etcd.allowSingleMember: true"
            )
        }

        let kubernetes = decodeKubernetes(reader?.value("kubernetes"), hosts: hosts, facts: &facts)
        let etcd = decodeEtcd(reader?.value("etcd"), kubernetes: kubernetes)
        let addons = decodeAddons(reader?.value("addons"), cluster: ClusterShape(hosts: hosts, kubernetes: kubernetes))
        let artifacts = decodeArtifacts(reader?.value("artifacts"), kubernetesVersion: kubernetes.version)
        let upgrade = decodeUpgrade(reader?.value("upgrade"), hosts: hosts)
        let certificates = decodeCertificates(reader?.value("certificates"))

        let inventory = Inventory(
            apiVersion: apiVersion, name: name, stateDirectory: stateDirectory, ssh: ssh, hosts: hosts,
            kubernetes: kubernetes, etcd: etcd, addons: addons, artifacts: artifacts, upgrade: upgrade,
            certificates: certificates
        )
        return (inventory, facts)
    }

    // MARK: - Paths

    func resolvePath(_ written: String, path: String) -> String? {
        guard !written.isEmpty else {
            context.error(path, "the path is empty")
            return nil
        }
        guard let resolved = Paths.resolve(written, base: baseDirectory, home: home) else {
            if written.hasPrefix("~/") || written == "~" {
                context.error(
                    path, "cannot expand \"~\" in \(DecodeContext.shown(written)): HOME is not set",
                    hint: "write an absolute path")
            } else {
                context.error(
                    path, "\(DecodeContext.shown(written)): only \"~\" and \"~/…\" are expanded, not \"~user\"",
                    hint: "write an absolute path")
            }
            return nil
        }
        return resolved
    }

    func existingFile(_ written: String, path: String, what: String) -> String? {
        guard let resolved = resolvePath(written, path: path) else { return nil }
        if !fileSystem.fileExists(resolved) {
            context.error(
                path, "\(what) \(resolved) does not exist",
                hint: resolved == written
                    ? nil : "written as \(DecodeContext.shown(written)); relative paths start at \(baseDirectory)")
        }
        return resolved
    }

    // MARK: - SSH

    static let hostKeyAliases = [
        "yes": "strict", "no": "off", "accept_new": "accept-new", "acceptnew": "accept-new", "ask": "strict",
    ]

    func decodeSSH(_ node: Node, path: String, topLevel: Bool) -> SSHDefaults {
        let disallowed =
            topLevel
            ? [:]
            : [
                "configFile":
                    "configFile can only be set in the top-level ssh section: one ssh_config file applies to the whole inventory"
            ]
        guard
            let reader = MappingReader(
                node, path: path, section: InventorySchema.ssh, context: context, disallowed: disallowed)
        else {
            return SSHDefaults()
        }
        var ssh = SSHDefaults()
        if let user = reader.string("user") {
            if Grammar.isUserName(user) {
                ssh.user = user
            } else {
                context.error(
                    reader.fieldPath("user"),
                    "\(DecodeContext.shown(user)) is not a valid user name: [a-z_][a-z0-9_-]*, at most 32 characters")
            }
        }
        ssh.port = reader.int("port", in: 1...65535)
        if let file = reader.string("identityFile") {
            ssh.identityFile = existingFile(file, path: reader.fieldPath("identityFile"), what: "identity file")
        }
        for key in ["passphraseEnv", "passwordEnv"] {
            guard let name = reader.string(key) else { continue }
            if !Grammar.isEnvironmentName(name) {
                context.error(
                    reader.fieldPath(key),
                    "\(DecodeContext.shown(name)) is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
                    hint: name.hasPrefix("$") ? "write the name without \"$\"" : nil)
                continue
            }
            if environment[name] == nil {
                context.warning(
                    reader.fieldPath(key),
                    "the environment variable \(name) is not set here; it must be set when Cairn connects")
            }
            if key == "passphraseEnv" { ssh.passphraseEnv = name } else { ssh.passwordEnv = name }
        }
        if let file = reader.string("passphraseFile") {
            ssh.passphraseFile = existingFile(file, path: reader.fieldPath("passphraseFile"), what: "passphrase file")
        }
        if reader.has("passphraseEnv") && reader.has("passphraseFile") {
            context.error(reader.fieldPath("passphraseFile"), "set either passphraseEnv or passphraseFile, not both")
        }
        ssh.useAgent = reader.bool("useAgent")
        if let file = reader.string("knownHostsFile") {
            ssh.knownHostsFile = resolvePath(file, path: reader.fieldPath("knownHostsFile"))
        }
        ssh.hostKeyChecking = reader.enumeration(
            "hostKeyChecking", HostKeyChecking.self, noun: "host key mode", aliases: Self.hostKeyAliases)
        ssh.sudo = reader.enumeration(
            "sudo", SudoMode.self, noun: "sudo mode",
            aliases: ["true": "always", "false": "never", "yes": "always", "no": "never"])
        for key in ["connectTimeout", "commandTimeout"] {
            guard let seconds = reader.number(key) else { continue }
            if seconds <= 0 || seconds > 86_400 {
                context.error(
                    reader.fieldPath(key), "\(seconds) is out of range; expected more than 0 and at most 86400 seconds")
            } else if key == "connectTimeout" {
                ssh.connectTimeout = seconds
            } else {
                ssh.commandTimeout = seconds
            }
        }
        if let bastionNode = reader.value("bastion") {
            ssh.bastion = decodeBastion(bastionNode, path: reader.fieldPath("bastion"))
        }
        if topLevel, let file = reader.string("configFile"), file != "none" {
            ssh.configFile = existingFile(file, path: reader.fieldPath("configFile"), what: "ssh_config file")
        }
        return ssh
    }

    func decodeBastion(_ node: Node, path: String) -> BastionSettings? {
        guard let reader = MappingReader(node, path: path, section: InventorySchema.bastion, context: context) else {
            return nil
        }
        var bastion = BastionSettings(address: "")
        if let address = reader.string("address") {
            if Grammar.isSSHAddress(address) {
                bastion.address = address
            } else {
                context.error(
                    reader.fieldPath("address"),
                    "\(DecodeContext.shown(address)) is not an IP address, DNS name or ssh_config alias")
            }
        } else if !reader.has("address") {
            context.error(reader.fieldPath("address"), at: SourcePosition(node.mark), "a bastion needs an address")
        }
        bastion.port = reader.int("port", in: 1...65535)
        if let user = reader.string("user") {
            if Grammar.isUserName(user) {
                bastion.user = user
            } else {
                context.error(
                    reader.fieldPath("user"),
                    "\(DecodeContext.shown(user)) is not a valid user name: [a-z_][a-z0-9_-]*, at most 32 characters")
            }
        }
        if let file = reader.string("identityFile") {
            bastion.identityFile = existingFile(file, path: reader.fieldPath("identityFile"), what: "identity file")
        }
        return bastion.address.isEmpty ? nil : bastion
    }

    // MARK: - Hosts

    func decodeHost(_ node: Node, path: String, sshConfig: SSHConfigFile?) -> Host? {
        guard let reader = MappingReader(node, path: path, section: InventorySchema.host, context: context) else {
            return nil
        }
        let here = SourcePosition(node.mark)

        var name = ""
        if let written = reader.string("name") {
            if Grammar.isDNSSubdomain(written) {
                name = written
            } else {
                let lower = written.lowercasedASCII
                context.error(
                    reader.fieldPath("name"),
                    "host name \(DecodeContext.shown(written)) is not an RFC 1123 hostname: lowercase letters, digits, '-' and '.', labels of at most 63 starting and ending with a letter or digit",
                    hint: Grammar.isDNSSubdomain(lower) ? "did you mean \"\(lower)\"?" : nil)
            }
        } else if !reader.has("name") {
            context.error(reader.fieldPath("name"), at: here, "a host needs a name (its Kubernetes node name)")
        }

        var address = ""
        if let written = reader.string("address") {
            if Grammar.isSSHAddress(written) {
                address = written
            } else {
                context.error(
                    reader.fieldPath("address"),
                    "\(DecodeContext.shown(written)) is not an IP address, DNS name or ssh_config alias",
                    hint: written.contains("/")
                        ? "an address has no prefix length"
                        : written.utf8.first == UInt8(ascii: "0") || written.contains(".0")
                            ? "IPv4 parts are written without leading zeros" : nil)
            }
        } else if !reader.has("address") {
            context.error(reader.fieldPath("address"), at: here, "a host needs an address to connect to over SSH")
        }

        var internalAddress = ""
        if let written = reader.string("internalAddress") {
            if let ip = IPAddress(written) {
                internalAddress = ip.description
            } else {
                context.error(
                    reader.fieldPath("internalAddress"),
                    "\(DecodeContext.shown(written)) is not an IP address; internalAddress must be an IPv4 or IPv6 address"
                )
            }
        } else if let ip = IPAddress(address) {
            internalAddress = ip.description
        } else if !address.isEmpty && !reader.has("internalAddress") {
            let configured = sshConfig?.values(for: address)["hostname"]?.first
            if let configured, let ip = IPAddress(configured) {
                internalAddress = ip.description
            } else {
                context.error(
                    reader.fieldPath("internalAddress"), at: here,
                    "host \(name.isEmpty ? address : name) has no IP address: \(DecodeContext.shown(address)) is a name"
                        + (configured.map { " (ssh_config HostName \($0))" } ?? ""),
                    hint: "add internalAddress: with the IP address the cluster should use")
            }
        }

        var roles: [Role] = []
        if let items = reader.list("roles") {
            if items.isEmpty {
                context.error(
                    reader.fieldPath("roles"), "a host needs at least one role among etcd, control-plane, worker")
            }
            for item in items {
                guard
                    let role = context.enumeration(
                        item.node, path: item.path, Role.self, noun: "role", aliases: Self.roleAliases)
                else { continue }
                if roles.contains(role) {
                    context.error(item.path, node: item.node, "role \(role.rawValue) is listed twice")
                } else {
                    roles.append(role)
                }
            }
        } else if !reader.has("roles") {
            context.error(
                reader.fieldPath("roles"), at: here, "a host needs roles, among etcd, control-plane, worker",
                hint: "for example roles: [control-plane, etcd]")
        }

        var labels: [String: String] = [:]
        if let labelsNode = reader.value("labels") {
            labels = decodeLabels(labelsNode, path: reader.fieldPath("labels"))
        }
        // zone and region are the well-known topology labels, written once.
        for (key, label) in [("zone", Host.zoneLabel), ("region", Host.regionLabel)] {
            guard let value = reader.string(key) else { continue }
            if !Grammar.isLabelValue(value) || value.isEmpty {
                context.error(
                    reader.fieldPath(key),
                    "\(DecodeContext.shown(value)) is not a label value: at most 63 characters of [A-Za-z0-9-_.], beginning and ending with a letter or digit"
                )
            } else if let other = labels[label], other != value {
                context.error(
                    reader.fieldPath(key), "\(key) \(value) contradicts labels.\(label): \(other)",
                    hint: "write the \(key) once, as \(key):")
            } else {
                labels[label] = value
            }
        }

        var taints: [Taint] = []
        for item in reader.list("taints") ?? [] {
            if let taint = decodeTaint(item.node, path: item.path) { taints.append(taint) }
        }

        var devices: [String] = []
        if let storageNode = reader.value("storage"),
            let storage = MappingReader(
                storageNode, path: reader.fieldPath("storage"), section: InventorySchema.storage, context: context)
        {
            for item in storage.stringList("devices") ?? [] {
                if !Grammar.isDevicePath(item.value) {
                    context.error(
                        item.path, node: item.node,
                        "\(DecodeContext.shown(item.value)) is not a device path: /dev/ followed by letters, digits, '/', '_', '.', '-', without \"..\""
                    )
                } else if devices.contains(item.value) {
                    context.error(item.path, node: item.node, "device \(item.value) is listed twice")
                } else {
                    devices.append(item.value)
                }
            }
        }

        var overrides = SSHDefaults()
        if let sshNode = reader.value("ssh") {
            overrides = decodeSSH(sshNode, path: reader.fieldPath("ssh"), topLevel: false)
        }

        return Host(
            name: name, address: address, internalAddress: internalAddress, roles: roles, labels: labels,
            taints: taints, storageDevices: devices, sshOverrides: overrides)
    }

    func decodeLabels(_ node: Node, path: String) -> [String: String] {
        context.record(path, node)
        guard case .mapping(let mapping) = node else {
            context.error(
                path, node: node, "expected a mapping of label keys to values, found \(ValueKind(node).rawValue)",
                hint: "for example labels: {disk: ssd}")
            return [:]
        }
        var labels: [String: String] = [:]
        for (keyNode, valueNode) in mapping {
            guard context.visit() else { break }
            guard let key = context.string(keyNode, path: path) else { continue }
            let labelPath = "\(path).\(key)"
            context.record(labelPath, valueNode)
            if let problem = Grammar.labelKeyProblem(key) {
                context.error(labelPath, node: keyNode, problem)
                continue
            }
            let value = context.string(valueNode, path: labelPath) ?? ""
            if !Grammar.isLabelValue(value) {
                context.error(
                    labelPath, node: valueNode,
                    "label value \(DecodeContext.shown(value)) is not valid: at most 63 characters, letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
                )
                continue
            }
            labels[key] = value
        }
        return labels
    }

    func decodeTaint(_ node: Node, path: String) -> Taint? {
        guard let reader = MappingReader(node, path: path, section: InventorySchema.taint, context: context) else {
            return nil
        }
        var ok = true
        let key = reader.string("key")
        if let key, let problem = Grammar.labelKeyProblem(key) {
            context.error(reader.fieldPath("key"), problem)
            ok = false
        } else if key == nil && !reader.has("key") {
            context.error(reader.fieldPath("key"), at: SourcePosition(node.mark), "a taint needs a key")
            ok = false
        }
        let value = reader.string("value")
        if let value, !Grammar.isLabelValue(value) {
            context.error(
                reader.fieldPath("value"),
                "taint value \(DecodeContext.shown(value)) is not valid: at most 63 characters, letters, digits, '-', '_' and '.'"
            )
            ok = false
        }
        let effect = reader.enumeration("effect", Taint.Effect.self, noun: "taint effect")
        if !reader.has("effect") {
            context.error(
                reader.fieldPath("effect"), at: SourcePosition(node.mark),
                "a taint needs an effect: NoSchedule, PreferNoSchedule or NoExecute")
        }
        guard ok, let key, let effect else { return nil }
        return Taint(key: key, value: value, effect: effect)
    }

    // MARK: - Kubernetes

    func version(_ reader: MappingReader, _ key: String, _ component: SupportedVersions.Component) -> String {
        Self.version(reader, key, component)
    }

    /// A version from `component`'s table: an exact one, or a minor alone (its newest patch, with a
    /// note saying which); anything else is refused with the supported list and why.
    static func version(
        _ reader: MappingReader, _ key: String, _ component: SupportedVersions.Component,
        default defaultVersion: String? = nil
    ) -> String {
        let context = reader.context
        let fallback = defaultVersion ?? component.defaultVersion
        guard let written = reader.string(key) else { return fallback }
        let supported = "supported: " + component.supported.joined(separator: ", ")
        switch component.resolve(written) {
        case .supported(let version):
            return version
        case .newestPatch(let version):
            context.note(
                reader.fieldPath(key),
                "\(DecodeContext.shown(written)) means \(version), the newest \(written) patch Cairn knows")
            return version
        case .retired(let reason):
            context.error(
                reader.fieldPath(key),
                "\(component.field) \(DecodeContext.shown(written)) is refused: \(reason); \(supported)",
                hint: "use \(component.defaultVersion)")
        case .unknown:
            context.error(
                reader.fieldPath(key),
                "\(component.field) \(DecodeContext.shown(written)) is not a version Cairn offers; \(supported)",
                hint: Suggest.hint(for: written, among: component.supported))
        }
        return fallback
    }

    func decodeKubernetes(_ node: Node?, hosts: [Host], facts: inout Facts) -> KubernetesSettings {
        let firstCP = hosts.first { $0.has(.controlPlane) }?.internalAddress ?? ""
        var settings = KubernetesSettings(apiEndpoint: APIEndpoint(address: firstCP, mode: .direct))
        guard let node,
            let reader = MappingReader(node, path: "kubernetes", section: InventorySchema.kubernetes, context: context)
        else {
            return settings
        }
        settings.version = version(reader, "version", SupportedVersions.kubernetes)
        for key in ["podSubnet", "serviceSubnet"] {
            guard let written = reader.string(key) else { continue }
            switch IPNetwork.parse(written) {
            case .success(let network):
                if key == "podSubnet" {
                    settings.podSubnet = network.description
                } else {
                    settings.serviceSubnet = network.description
                }
            case .failure(let problem):
                context.error(reader.fieldPath(key), "\(key) \(problem.description)")
            }
        }
        if let domain = reader.string("clusterDomain") {
            if Grammar.isDNSSubdomain(domain) {
                settings.clusterDomain = domain
            } else {
                context.error(
                    reader.fieldPath("clusterDomain"),
                    "\(DecodeContext.shown(domain)) is not a lowercase DNS name such as cluster.local")
            }
        }
        settings.proxyMode = reader.enumeration("proxyMode", ProxyMode.self, noun: "proxy mode") ?? .iptables
        if settings.proxyMode == .ipvs {
            context.warning(
                reader.fieldPath("proxyMode"),
                "kube-proxy's ipvs mode is deprecated since Kubernetes 1.35 and to be removed",
                hint: "prefer nftables (or iptables, the default)")
        }
        if let endpointNode = reader.value("apiEndpoint") {
            settings.apiEndpoint = decodeAPIEndpoint(
                endpointNode, path: reader.fieldPath("apiEndpoint"),
                defaultAddress: firstCP, facts: &facts)
        }
        return settings
    }

    func decodeAPIEndpoint(_ node: Node, path: String, defaultAddress: String, facts: inout Facts) -> APIEndpoint {
        var endpoint = APIEndpoint(address: defaultAddress, mode: .direct)
        guard let reader = MappingReader(node, path: path, section: InventorySchema.apiEndpoint, context: context)
        else { return endpoint }
        endpoint.port = reader.int("port", in: 1...65535) ?? 6443

        let modes = ["haproxyKeepalived", "kubeVip", "external", "nodeLocal"].filter { reader.values[$0] != nil }
        facts.endpointModesWritten = modes
        if modes.count > 1 {
            context.error(
                reader.fieldPath(modes[1]),
                "only one API endpoint mode may be set, found \(modes.joined(separator: " and "))",
                hint: "keep one of haproxyKeepalived, kubeVip, external, nodeLocal")
        }
        if modes.first == "nodeLocal" {
            // `nodeLocal: {}` or `nodeLocal:` (null) take every default.
            var engine = APIEndpoint.NodeLocalEngine.haproxy
            if let modeNode = reader.value("nodeLocal"),
                let modeReader = MappingReader(
                    modeNode, path: reader.fieldPath("nodeLocal"), section: InventorySchema.nodeLocal, context: context)
            {
                engine =
                    modeReader.enumeration("engine", APIEndpoint.NodeLocalEngine.self, noun: "nodeLocal engine")
                    ?? .haproxy
            }
            endpoint.mode = .nodeLocal(engine: engine)
            let firstIPv6 = defaultAddress.contains(":")
            endpoint.address = firstIPv6 ? "::1" : "127.0.0.1"
        } else if let first = modes.first, let modeNode = reader.value(first) {
            let modePath = reader.fieldPath(first)
            switch first {
            case "haproxyKeepalived":
                if let modeReader = MappingReader(
                    modeNode, path: modePath, section: InventorySchema.haproxyKeepalived, context: context),
                    let vip = decodeVirtualIP(modeReader, facts: &facts)
                {
                    let routerID = modeReader.int("virtualRouterID", in: 1...255) ?? 51
                    endpoint.mode = .haproxyKeepalived(vip, virtualRouterID: routerID)
                    endpoint.address = vip.address
                }
            case "kubeVip":
                if let modeReader = MappingReader(
                    modeNode, path: modePath, section: InventorySchema.kubeVip, context: context),
                    let vip = decodeVirtualIP(modeReader, facts: &facts)
                {
                    endpoint.mode = .kubeVip(vip)
                    endpoint.address = vip.address
                }
            default:
                if let modeReader = MappingReader(
                    modeNode, path: modePath, section: InventorySchema.external, context: context)
                {
                    if let address = modeReader.string("address") {
                        if let ip = IPAddress(address) {
                            endpoint.mode = .external(address: ip.description)
                            endpoint.address = ip.description
                        } else if Grammar.isDNSName(address) {
                            endpoint.mode = .external(address: address.lowercasedASCII)
                            endpoint.address = address.lowercasedASCII
                        } else {
                            context.error(
                                modeReader.fieldPath("address"),
                                "\(DecodeContext.shown(address)) is not a DNS name or IP address")
                        }
                    } else if !modeReader.has("address") {
                        context.error(
                            modeReader.fieldPath("address"), at: SourcePosition(modeNode.mark),
                            "an external endpoint needs the address of your load balancer")
                    }
                }
            }
        } else if let first = modes.first {
            context.error(
                reader.fieldPath(first),
                "\(first) is empty; it needs at least \(first == "external" ? "address" : "virtualIP")")
        }
        // haproxy runs on the control-plane hosts beside kube-apiserver, which holds 6443 there:
        // the balanced endpoint takes another port (kubeadm's HA guide uses 8443).
        if case .haproxyKeepalived = endpoint.mode {
            if !reader.has("port") {
                endpoint.port = 8443
            } else if endpoint.port == 6443 {
                context.error(
                    reader.fieldPath("port"),
                    "haproxy runs on the control-plane hosts, where kube-apiserver already listens on 6443",
                    hint: "use another port for the balanced endpoint, e.g. 8443 (the default for haproxyKeepalived)")
            }
        }
        for item in reader.stringList("extraSANs") ?? [] {
            if Grammar.isSAN(item.value) {
                endpoint.extraSANs.append(item.value.lowercasedASCII)
            } else {
                context.error(
                    item.path, node: item.node, "\(DecodeContext.shown(item.value)) is not an IP address or DNS name")
            }
        }
        return endpoint
    }

    func decodeVirtualIP(_ reader: MappingReader, facts: inout Facts) -> APIEndpoint.VirtualIP? {
        var interface: String?
        if let written = reader.string("interface") {
            if Grammar.isInterfaceName(written) {
                interface = written
            } else {
                context.error(
                    reader.fieldPath("interface"),
                    "\(DecodeContext.shown(written)) is not a network interface name (at most 15 letters, digits, '-', '_', '.')"
                )
            }
        }
        guard let written = reader.string("virtualIP") else {
            if reader.has("virtualIP") { return nil }
            context.error(
                reader.fieldPath("virtualIP"), at: SourcePosition(reader.node.mark),
                "a virtual IP is required: a free address in the control-plane hosts' subnet")
            return nil
        }
        guard let ip = IPAddress(written) else {
            context.error(
                reader.fieldPath("virtualIP"), "\(DecodeContext.shown(written)) is not an IP address",
                hint: written.contains("/")
                    ? "write the address without a prefix length; use virtualIPPrefix for the subnet size" : nil)
            return nil
        }
        let prefix = reader.int("virtualIPPrefix", in: 8...(ip.isIPv4 ? 32 : 128)) ?? (ip.isIPv4 ? 24 : 64)
        facts.virtualIPPath = reader.fieldPath("virtualIP")
        return APIEndpoint.VirtualIP(address: ip.description, prefixLength: prefix, interface: interface)
    }

    // MARK: - etcd

    func decodeEtcd(_ node: Node?, kubernetes: KubernetesSettings) -> EtcdSettings {
        let defaultVersion = SupportedVersions.defaultEtcd(forKubernetes: kubernetes.version)
        var settings = EtcdSettings(version: defaultVersion)
        guard let node, let reader = MappingReader(node, path: "etcd", section: InventorySchema.etcd, context: context)
        else { return settings }
        settings.version = Self.version(reader, "version", SupportedVersions.etcd, default: defaultVersion)
        if let dir = reader.string("dataDir") {
            if Grammar.isAbsoluteHostPath(dir) && dir != "/" {
                settings.dataDir = dir
            } else {
                context.error(
                    reader.fieldPath("dataDir"),
                    "\(DecodeContext.shown(dir)) is not an absolute path on the hosts (letters, digits, '/', '.', '_', '-', no \"..\")"
                )
            }
        }
        settings.allowSingleMember = reader.bool("allowSingleMember") ?? false
        settings.heartbeatInterval = reader.int("heartbeatInterval", in: 1...10_000) ?? settings.heartbeatInterval
        settings.electionTimeout = reader.int("electionTimeout", in: 1...50_000) ?? settings.electionTimeout
        if reader.has("heartbeatInterval") || reader.has("electionTimeout"),
            settings.electionTimeout < 5 * settings.heartbeatInterval
        {
            context.error(
                reader.fieldPath(reader.has("electionTimeout") ? "electionTimeout" : "heartbeatInterval"),
                "electionTimeout (\(settings.electionTimeout) ms) must be at least 5 × heartbeatInterval (\(settings.heartbeatInterval) ms); etcd refuses to start otherwise"
            )
        }
        if let quota = reader.int("quotaBackendBytes", in: 1...Int.max) {
            settings.quotaBackendBytes = quota
            if quota > 8 << 30 {
                context.warning(
                    reader.fieldPath("quotaBackendBytes"),
                    "\(quota) bytes is above 8 GiB, the largest quota etcd recommends")
            }
        }
        settings.snapshotCount = reader.int("snapshotCount", in: 1...Int.max) ?? settings.snapshotCount
        settings.removeMembersNotInInventory = reader.bool("removeMembersNotInInventory") ?? false
        return settings
    }

    // MARK: - Add-ons

    func decodeAddons(_ node: Node?, cluster: ClusterShape) -> AddonSettingsSet {
        var addons = AddonSettingsSet()
        let section = InventorySchema.addons(addonTypes)
        let reader = node.flatMap { MappingReader($0, path: "addons", section: section, context: context) }
        for type in addonTypes {
            addons.set(Self.read(type, from: reader, cluster: cluster, context: context))
        }
        return addons
    }

    /// One add-on's settings: its defaults, then what the inventory writes.
    private static func read<Settings: AddonSettings>(
        _ type: Settings.Type, from addons: MappingReader?, cluster: ClusterShape,
        context: DecodeContext
    ) -> Settings {
        var settings = Settings(defaultsFor: cluster)
        if let node = addons?.value(Settings.key),
            let reader = MappingReader(
                node, path: "addons." + Settings.key, section: Settings.sections[0], context: context)
        {
            settings.read(SettingsSection(reader: reader), cluster: cluster)
        }
        return settings
    }

    // MARK: - Artifacts

    /// `kubernetesVersion` names a file the mirror must hold, when a local mirror is missing.
    func decodeUpgrade(_ node: Node?, hosts: [Host]) -> UpgradeSettings {
        var settings = UpgradeSettings()
        guard let node,
            let reader = MappingReader(node, path: "upgrade", section: InventorySchema.upgrade, context: context)
        else { return settings }
        settings.maxUnavailable = reader.int("maxUnavailable", in: 1...1000) ?? settings.maxUnavailable
        settings.maxUnavailablePerGroup =
            reader.int("maxUnavailablePerGroup", in: 1...1000) ?? settings.maxUnavailablePerGroup
        settings.drainTimeoutSeconds = reader.int("drainTimeout", in: 10...86_400) ?? settings.drainTimeoutSeconds
        if let label = reader.string("groupLabel") {
            if let problem = Grammar.labelKeyProblem(label) {
                context.error(reader.fieldPath("groupLabel"), problem)
            } else {
                settings.groupLabel = label
                let unlabelled = hosts.filter { $0.has(.worker) && $0.labels[label] == nil }.map(\.name)
                if !unlabelled.isEmpty && unlabelled.count < hosts.filter({ $0.has(.worker) }).count {
                    context.warning(
                        reader.fieldPath("groupLabel"),
                        "workers without the label \(label) form one group of their own: \(unlabelled.joined(separator: ", "))",
                        hint: "give every worker hosts[i].labels.\(label)")
                }
            }
        } else if reader.has("maxUnavailablePerGroup") {
            context.error(
                reader.fieldPath("maxUnavailablePerGroup"), "maxUnavailablePerGroup needs groupLabel",
                hint: "set upgrade.groupLabel to the node label that names the groups, e.g. topology.kubernetes.io/zone"
            )
        }
        return settings
    }

    func decodeCertificates(_ node: Node?) -> CertificateSettings {
        var settings = CertificateSettings()
        guard let node,
            let reader = MappingReader(
                node, path: "certificates", section: InventorySchema.certificates, context: context)
        else { return settings }
        settings.renewBeforeDays = reader.int("renewBeforeDays", in: 1...300) ?? settings.renewBeforeDays
        return settings
    }

    func decodeArtifacts(_ node: Node?, kubernetesVersion: String) -> Artifacts {
        var artifacts = Artifacts()
        guard let node,
            let reader = MappingReader(node, path: "artifacts", section: InventorySchema.artifacts, context: context)
        else { return artifacts }
        artifacts.source =
            reader.enumeration(
                "source", ArtifactSource.self, noun: "artifact source",
                aliases: ["local": "mirror", "offline": "mirror", "airgap": "mirror", "internet": "upstream"])
            ?? .upstream
        if let mirror = reader.string("mirror") {
            let path = reader.fieldPath("mirror")
            if let scheme = ["http://", "https://", "file://"].first(where: { mirror.lowercasedASCII.hasPrefix($0) }) {
                let rest = mirror.dropFirst(scheme.count)
                if rest.isEmpty || rest.contains(" ") || (scheme == "file://" && !rest.hasPrefix("/")) {
                    context.error(
                        path,
                        "\(DecodeContext.shown(mirror)) is not a usable URL\(scheme == "file://" ? " (file:// needs an absolute path)" : "")"
                    )
                } else {
                    artifacts.mirror = mirror
                }
            } else if mirror.contains("://") {
                context.error(
                    path, "\(DecodeContext.shown(mirror)): only file://, http:// and https:// mirrors are supported")
            } else if let resolved = resolvePath(mirror, path: path) {
                if !fileSystem.directoryExists(resolved) {
                    context.error(
                        path,
                        "mirror directory \(resolved) does not exist on this machine: create it with every release "
                            + "file under its upstream URL without https://, such as "
                            + "\(resolved)/dl.k8s.io/release/v\(kubernetesVersion)/bin/linux/amd64/kubeadm",
                        hint:
                            "a copy of a connected machine's STATE/artifacts is one, see docs/artifacts.md, "
                            + "\"Pre-filling a mirror\"; or set mirror: to the http(s):// URL of a server holding them")
                }
                artifacts.mirror = resolved
            }
        }
        if artifacts.source == .mirror && !reader.has("mirror") {
            context.error(
                reader.fieldPath("mirror"), at: SourcePosition(node.mark),
                "artifacts.source is mirror but no mirror is given", hint: "add mirror: with a directory or URL")
        }
        if artifacts.source == .upstream && reader.has("mirror") {
            context.warning(
                reader.fieldPath("mirror"), "mirror is ignored because artifacts.source is upstream",
                hint: "set source: mirror to use it")
        }
        return artifacts
    }
}

extension MappingReader {
    /// A scalar value of a mapping without reading it through the schema (no diagnostics).
    static func peekString(_ node: Node, key: String) -> String? {
        guard case .mapping(let mapping) = node else { return nil }
        for (keyNode, value) in mapping where keyNode.scalar?.string == key {
            return value.scalar?.string
        }
        return nil
    }
}
