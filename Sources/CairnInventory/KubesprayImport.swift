import Foundation
import Yams

/// Converts a kubespray (Ansible) inventory, `inventory.ini` or `hosts.yaml`, into a Cairn inventory.
///
/// Carried over: hosts (`ansible_host` → address, `ip` → internalAddress, `access_ip` when there is
/// no `ip`), roles from the `kube_control_plane`, `kube_node` and `etcd` groups (also the old
/// `kube-master`/`kube-node` names, and `:children` groups), SSH user, port and key, the `bastion`
/// group, node labels and taints, and the group variables listed in `KubesprayImporter.mapped`.
/// Everything else is listed in the notes and as comments at the top of the YAML.
enum KubesprayImporter {
    /// An Ansible variable value: a string, or structure from YAML / an INI JSON literal.
    indirect enum Value: Equatable {
        case string(String)
        case list([Value])
        case map([(String, Value)])

        static func == (lhs: Value, rhs: Value) -> Bool {
            switch (lhs, rhs) {
            case (.string(let a), .string(let b)): return a == b
            case (.list(let a), .list(let b)): return a == b
            case (.map(let a), .map(let b)): return a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
            default: return false
            }
        }

        var string: String? {
            if case .string(let s) = self { return s }
            return nil
        }
        var list: [Value]? {
            if case .list(let l) = self { return l }
            return nil
        }
        subscript(key: String) -> Value? {
            if case .map(let pairs) = self { return pairs.first { $0.0 == key }?.1 }
            return nil
        }
        var isTrue: Bool { ["true", "yes", "on", "1"].contains(string?.lowercased() ?? "") }
    }

    struct Group {
        var hosts: [String] = []
        var children: [String] = []
        var vars: [(String, Value)] = []
    }

    struct AnsibleInventory {
        var hostOrder: [String] = []
        var hostVars: [String: [(String, Value)]] = [:]
        var groups: [String: Group] = [:]
        var groupOrder: [String] = []

        mutating func addHost(_ name: String, vars: [(String, Value)] = []) {
            if hostVars[name] == nil {
                hostOrder.append(name)
                hostVars[name] = []
            }
            for (key, value) in vars {
                hostVars[name]!.removeAll { $0.0 == key }
                hostVars[name]!.append((key, value))
            }
        }

        mutating func group(_ name: String) -> Group {
            if groups[name] == nil {
                groups[name] = Group()
                groupOrder.append(name)
            }
            return groups[name]!
        }

        mutating func update(_ name: String, _ change: (inout Group) -> Void) {
            _ = group(name)
            change(&groups[name]!)
        }

        /// Hosts of a group, through children, without repeats.
        func members(of name: String, seen: Set<String> = []) -> [String] {
            guard let group = groups[name], !seen.contains(name) else { return [] }
            var out = group.hosts
            for child in group.children {
                for host in members(of: child, seen: seen.union([name])) where !out.contains(host) { out.append(host) }
            }
            if name == "all" {
                for host in hostOrder where !out.contains(host) { out.append(host) }
            }
            return out
        }

        /// The groups a host belongs to (directly or through children).
        func groupsOf(_ host: String) -> [String] {
            groupOrder.filter { members(of: $0).contains(host) }
        }
    }

    struct Failure: Error {
        var message: String
        var line: Int?
    }

    // MARK: - Reading

    static func isYAML(_ text: String) -> Bool {
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") || trimmed == "---" { continue }
            return !trimmed.hasPrefix("[")
        }
        return false
    }

    static func parseINI(_ text: String) throws(Failure) -> AnsibleInventory {
        var inventory = AnsibleInventory()
        var section = "ungrouped"
        var kind = "hosts"
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw Failure(message: "unclosed section header \(line)", line: index + 1)
                }
                let header = String(line.dropFirst().dropLast())
                let parts = header.split(separator: ":", maxSplits: 1).map(String.init)
                section = parts.first ?? header
                kind = parts.count > 1 ? parts[1] : "hosts"
                guard ["hosts", "vars", "children"].contains(kind) else {
                    throw Failure(message: "unknown section kind :\(kind) in [\(header)]", line: index + 1)
                }
                _ = inventory.group(section)
                continue
            }
            let tokens = shellWords(line)
            guard let first = tokens.first else { continue }
            switch kind {
            case "vars":
                let (key, value) = splitAssignment(line)
                inventory.update(section) { $0.vars.append((key, value)) }
            case "children":
                inventory.update(section) { $0.children.append(first) }
                _ = inventory.group(first)
            default:
                let vars = tokens.dropFirst().compactMap { token -> (String, Value)? in
                    guard let eq = token.firstIndex(of: "=") else { return nil }
                    return (String(token[..<eq]), parseINIValue(String(token[token.index(after: eq)...])))
                }
                for name in expandRange(first) {
                    inventory.addHost(name, vars: vars)
                    if section != "all" && section != "ungrouped" {
                        inventory.update(section) { if !$0.hosts.contains(name) { $0.hosts.append(name) } }
                    }
                }
            }
        }
        return inventory
    }

    /// `key=value` or `key = value` of a `:vars` line.
    static func splitAssignment(_ line: String) -> (String, Value) {
        guard let eq = line.firstIndex(of: "=") else { return (line, .string("")) }
        let key = line[..<eq].trimmingCharacters(in: .whitespaces)
        var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        if let hash = value.range(of: " #"), !value.hasPrefix("{"), !value.hasPrefix("[") {
            value = value[..<hash.lowerBound].trimmingCharacters(in: .whitespaces)
        }
        return (key, parseINIValue(value))
    }

    static func parseINIValue(_ text: String) -> Value {
        var text = text
        if text.count >= 2, let first = text.first, first == "\"" || first == "'", text.last == first {
            text = String(text.dropFirst().dropLast())
            return .string(text)
        }
        if text.hasPrefix("{") || text.hasPrefix("[") {
            if case .success(let node?) = SafeYAML.compose(text), let value = value(from: node, budget: 10_000) {
                return value
            }
        }
        return .string(text)
    }

    /// `node[1:3]` → node1, node2, node3 (Ansible numeric host ranges; letters are not expanded).
    static func expandRange(_ name: String) -> [String] {
        guard let open = name.firstIndex(of: "["), let close = name.firstIndex(of: "]"), open < close else {
            return [name]
        }
        let inner = name[name.index(after: open)..<close].split(separator: ":")
        guard inner.count == 2, let low = Int(inner[0]), let high = Int(inner[1]), low <= high, high - low < 1000 else {
            return [name]
        }
        let width = inner[0].count
        let prefix = name[..<open]
        let suffix = name[name.index(after: close)...]
        return (low...high).map { number in
            var digits = String(number)
            if inner[0].hasPrefix("0") { digits = String(repeating: "0", count: max(0, width - digits.count)) + digits }
            return prefix + digits + suffix
        }
    }

    /// Splits on blanks, honouring single and double quotes; `#` at a word start ends the line.
    static func shellWords(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quote: Character?
        var inWord = false
        for character in line {
            if let q = quote {
                if character == q { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
                inWord = true
            } else if character == " " || character == "\t" {
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            } else if character == "#" && !inWord {
                break
            } else {
                current.append(character)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }

    static func value(from node: Node, budget: Int) -> Value? {
        var remaining = budget
        func walk(_ node: Node, depth: Int) -> Value? {
            remaining -= 1
            guard remaining > 0, depth < 32 else { return nil }
            switch node {
            case .scalar(let scalar): return .string(scalar.string)
            case .alias: return nil
            case .sequence(let sequence):
                var items: [Value] = []
                for item in sequence {
                    guard let v = walk(item, depth: depth + 1) else { return nil }
                    items.append(v)
                }
                return .list(items)
            case .mapping(let mapping):
                var pairs: [(String, Value)] = []
                for (key, item) in mapping {
                    guard let k = key.scalar?.string, let v = walk(item, depth: depth + 1) else { return nil }
                    pairs.append((k, v))
                }
                return .map(pairs)
            }
        }
        return walk(node, depth: 0)
    }

    static func parseYAML(_ text: String) throws(Failure) -> AnsibleInventory {
        let root: Node
        switch SafeYAML.compose(text) {
        case .failure(let problem): throw Failure(message: problem.message, line: problem.line)
        case .success(nil): throw Failure(message: "the file is empty", line: nil)
        case .success(let node?): root = node
        }
        guard let top = value(from: root, budget: 200_000) else {
            throw Failure(message: "the file is too large or nested too deeply", line: nil)
        }
        guard case .map(let groups) = top else {
            throw Failure(message: "expected a mapping of groups such as all:", line: 1)
        }
        var inventory = AnsibleInventory()
        func readGroup(_ name: String, _ body: Value, depth: Int) {
            _ = inventory.group(name)
            guard depth < 32, case .map(let pairs) = body else { return }
            for (key, value) in pairs {
                switch key {
                case "hosts":
                    guard case .map(let hosts) = value else { continue }
                    for (host, vars) in hosts {
                        var hostVars: [(String, Value)] = []
                        if case .map(let pairs) = vars { hostVars = pairs }
                        inventory.addHost(host, vars: hostVars)
                        if name != "all" {
                            inventory.update(name) { if !$0.hosts.contains(host) { $0.hosts.append(host) } }
                        }
                    }
                case "children":
                    guard case .map(let children) = value else { continue }
                    for (child, childBody) in children {
                        inventory.update(name) { if !$0.children.contains(child) { $0.children.append(child) } }
                        readGroup(child, childBody, depth: depth + 1)
                    }
                case "vars":
                    guard case .map(let vars) = value else { continue }
                    inventory.update(name) { $0.vars.append(contentsOf: vars) }
                default:
                    break
                }
            }
        }
        for (name, body) in groups { readGroup(name, body, depth: 0) }
        return inventory
    }

    // MARK: - Converting

    /// Group variables carried over (everything else is reported).
    static let mapped: Set<String> = [
        "kube_version", "kube_pods_subnet", "kube_service_addresses", "cluster_name", "dns_domain", "kube_proxy_mode",
        "loadbalancer_apiserver", "apiserver_loadbalancer_domain_name", "kube_apiserver_port", "kube_vip_enabled",
        "kube_vip_address", "kube_vip_interface", "kube_vip_arp_enabled", "kube_vip_controlplane_enabled",
        "supplementary_addresses_in_ssl_keys", "etcd_data_dir", "calico_ipip_mode", "calico_vxlan_mode",
        "calico_network_backend", "calico_pool_blocksize", "calico_version", "metallb_enabled", "metallb_config",
        "metallb_ip_range",
        "metallb_speaker_enabled", "metallb_protocol", "ingress_nginx_enabled", "dns_min_replicas",
        "kube_network_plugin",
        "etcd_deployment_type", "container_manager", "kube_network_node_prefix",
        "ansible_user", "ansible_port", "ansible_ssh_private_key_file", "ansible_host", "ip", "access_ip",
        "etcd_member_name", "node_labels", "node_taints", "ansible_become", "ansible_ssh_user", "ansible_ssh_port",
    ]

    static let controlPlaneGroups = ["kube_control_plane", "kube-master", "kube_master"]
    static let workerGroups = ["kube_node", "kube-node"]

    struct Output {
        var yaml: String
        var notes: [String]
    }

    static func convert(_ ansible: AnsibleInventory, source: String) -> Output {
        var notes: [String] = []
        var lines: [String] = []
        func note(_ text: String) { if !notes.contains(text) { notes.append(text) } }

        let controlPlane = Set(controlPlaneGroups.flatMap { ansible.members(of: $0) })
        let workers = Set(workerGroups.flatMap { ansible.members(of: $0) })
        let etcd = Set(ansible.members(of: "etcd"))
        for legacy in ["kube-master", "kube_master", "kube-node"] where ansible.groups[legacy] != nil {
            note(
                "group \(legacy) is kubespray's old name; read as \(legacy.contains("master") ? "kube_control_plane" : "kube_node")"
            )
        }
        let bastionHost = ansible.members(of: "bastion").first
        let clusterHosts = ansible.hostOrder.filter {
            $0 != bastionHost && (controlPlane.contains($0) || workers.contains($0) || etcd.contains($0))
        }
        for host in ansible.hostOrder where host != bastionHost && !clusterHosts.contains(host) {
            note("host \(host) is in none of kube_control_plane, kube_node, etcd; not carried over")
        }

        // Variables: all < group vars (in file order) < host vars.
        func vars(of host: String?) -> [String: Value] {
            var out: [String: Value] = [:]
            for (key, value) in ansible.groups["all"]?.vars ?? [] { out[key] = value }
            let groups =
                host.map(ansible.groupsOf) ?? ansible.groupOrder.filter { ["k8s_cluster", "k8s-cluster"].contains($0) }
            for group in groups where group != "all" {
                for (key, value) in ansible.groups[group]?.vars ?? [] { out[key] = value }
            }
            if let host { for (key, value) in ansible.hostVars[host] ?? [] { out[key] = value } }
            return out
        }
        let clusterVars = vars(of: nil)
        var unmapped: [String: [String]] = [:]
        for (key, _) in clusterVars where !mapped.contains(key) { unmapped[key, default: []].append("group vars") }
        for host in clusterHosts {
            for (key, _) in ansible.hostVars[host] ?? [] where !mapped.contains(key) {
                unmapped[key, default: []].append(host)
            }
        }
        for key in unmapped.keys.sorted() {
            note(
                "variable \(key) (\(unmapped[key]!.joined(separator: ", "))) has no Cairn equivalent; not carried over")
        }

        func str(_ key: String, _ vars: [String: Value]) -> String? {
            vars[key]?.string.map { $0.trimmingCharacters(in: .whitespaces) }
        }

        // SSH user/port/key shared by all hosts go to the top-level ssh section.
        func shared(_ keys: [String]) -> String? {
            let values = clusterHosts.map { host in keys.lazy.compactMap { str($0, vars(of: host)) }.first }
            guard let first = values.first, let value = first, values.allSatisfy({ $0 == value }) else { return nil }
            return value
        }
        let userKeys = ["ansible_user", "ansible_ssh_user"]
        let portKeys = ["ansible_port", "ansible_ssh_port"]
        let keyKeys = ["ansible_ssh_private_key_file"]
        let sharedUser = shared(userKeys)
        let sharedPort = shared(portKeys)
        let sharedKey = shared(keyKeys)

        lines.append("# Cairn inventory converted from the kubespray inventory \(source)")
        lines.append("# by `cairn inventory import --from kubespray`. Review it, then run `cairn validate -i FILE`.")
        let notesMarker = lines.count
        lines.append("apiVersion: \(SupportedVersions.currentAPIVersion)")
        lines.append("kind: Cluster")
        lines.append("name: cairn                      # kubespray inventories carry no cluster name; choose one")

        var sshLines: [String] = []
        if let sharedUser { sshLines.append("  user: \(quote(sharedUser))") }
        if let sharedPort { sshLines.append("  port: \(sharedPort)") }
        if let sharedKey { sshLines.append("  identityFile: \(quote(sharedKey))") }
        if let bastionHost {
            let bv = vars(of: bastionHost)
            sshLines.append("  bastion:                       # from the kubespray bastion group")
            sshLines.append("    address: \(quote(str("ansible_host", bv) ?? bastionHost))")
            if let user = userKeys.lazy.compactMap({ str($0, bv) }).first {
                sshLines.append("    user: \(quote(user))")
            }
            if let port = portKeys.lazy.compactMap({ str($0, bv) }).first { sshLines.append("    port: \(port)") }
        }
        if !sshLines.isEmpty {
            lines.append("ssh:")
            lines.append(contentsOf: sshLines)
        }

        lines.append("hosts:")
        if clusterHosts.isEmpty { note("no hosts found in kube_control_plane, kube_node or etcd") }
        for host in clusterHosts {
            let hv = vars(of: host)
            var name = host
            if !Grammar.isDNSSubdomain(name) {
                let lowered = host.lowercasedASCII.replacingOccurrences(of: "_", with: "-")
                name = lowered
                note("host name \(host) is not an RFC 1123 hostname; written as \(lowered)")
            }
            let ansibleHost = str("ansible_host", hv)
            let ip = str("ip", hv)
            let accessIP = str("access_ip", hv)
            let address = ansibleHost ?? accessIP ?? ip ?? host
            let internalIP = ip ?? accessIP
            if let accessIP, let ip, accessIP != ip {
                note(
                    "access_ip \(accessIP) of \(host) not carried over: Cairn uses internalAddress (\(ip), from ip) for cluster traffic"
                )
            }
            if let member = str("etcd_member_name", hv), !member.isEmpty, member != name {
                note(
                    "etcd_member_name \(member) of \(host) not carried over: Cairn names etcd members after hosts (\(name))"
                )
            }
            var roles: [String] = []
            if controlPlane.contains(host) { roles.append("control-plane") }
            if etcd.contains(host) { roles.append("etcd") }
            if workers.contains(host) { roles.append("worker") }
            lines.append("  - name: \(quote(name))")
            lines.append("    address: \(quote(address))")
            if let internalIP, internalIP != address { lines.append("    internalAddress: \(quote(internalIP))") }
            lines.append("    roles: [\(roles.joined(separator: ", "))]")
            if case .map(let labels)? = hv["node_labels"], !labels.isEmpty {
                lines.append("    labels:")
                for (key, value) in labels { lines.append("      \(quote(key)): \(quote(value.string ?? ""))") }
            }
            if let taints = hv["node_taints"]?.list, !taints.isEmpty {
                lines.append("    taints:")
                for taint in taints.compactMap(\.string) {
                    let (key, value, effect) = splitTaint(taint)
                    lines.append(
                        "      - {key: \(quote(key))\(value.map { ", value: \(quote($0))" } ?? ""), effect: \(quote(effect))}"
                    )
                }
            }
            var hostSSH: [String] = []
            if sharedUser == nil, let user = userKeys.lazy.compactMap({ str($0, hv) }).first {
                hostSSH.append("      user: \(quote(user))")
            }
            if sharedPort == nil, let port = portKeys.lazy.compactMap({ str($0, hv) }).first {
                hostSSH.append("      port: \(port)")
            }
            if sharedKey == nil, let key = str("ansible_ssh_private_key_file", hv) {
                hostSSH.append("      identityFile: \(quote(key))")
            }
            if !hostSSH.isEmpty {
                lines.append("    ssh:")
                lines.append(contentsOf: hostSSH)
            }
        }

        // kubernetes
        var k8s: [String] = []
        if let version = str("kube_version", clusterVars) {
            let table = SupportedVersions.kubernetes
            let supported = table.supported.joined(separator: ", ")
            switch table.resolve(version) {
            case .supported(let bare):
                k8s.append("  version: \"\(bare)\"")
            case .newestPatch, .retired, .unknown:
                // Another patch of a supported minor: that minor's newest patch Cairn knows.
                let minor = SupportedVersions.minor(of: version.hasPrefix("v") ? String(version.dropFirst()) : version)
                if case .newestPatch(let newest) = table.resolve(minor) {
                    note(
                        "kube_version \(version) is not a patch Cairn offers; \(newest), the newest \(minor) patch it knows, is used"
                    )
                    k8s.append("  version: \"\(newest)\"   # kube_version \(version)")
                } else {
                    note(
                        "kube_version \(version) is not supported by Cairn (\(supported)); the default \(table.defaultVersion) is used"
                    )
                    k8s.append("  # kube_version \(version) is not supported; default \(table.defaultVersion)")
                }
            }
        }
        if let pods = str("kube_pods_subnet", clusterVars) { k8s.append("  podSubnet: \(quote(pods))") }
        if let services = str("kube_service_addresses", clusterVars) {
            k8s.append("  serviceSubnet: \(quote(services))")
        }
        if let domain = str("dns_domain", clusterVars) ?? str("cluster_name", clusterVars) {
            k8s.append("  clusterDomain: \(quote(domain))")
        }
        if let mode = str("kube_proxy_mode", clusterVars) { k8s.append("  proxyMode: \(quote(mode))") }
        if let plugin = str("kube_network_plugin", clusterVars), plugin != "calico" {
            note("kube_network_plugin \(plugin): Cairn installs Calico")
        }
        if let manager = str("container_manager", clusterVars), manager != "containerd" {
            note("container_manager \(manager): Cairn uses containerd")
        }
        if let type = str("etcd_deployment_type", clusterVars), type != "host" {
            note("etcd_deployment_type \(type): Cairn runs etcd on the hosts as a systemd service")
        }
        if let prefix = str("kube_network_node_prefix", clusterVars) {
            note(
                "kube_network_node_prefix \(prefix) not carried over: Calico's per-node block is addons.calico.blockSize (calico_pool_blocksize)"
            )
        }

        var endpoint: [String] = []
        var sans: [String] = []
        if let port = str("kube_apiserver_port", clusterVars) { endpoint.append("    port: \(port)") }
        if let lb = clusterVars["loadbalancer_apiserver"] {
            let domain = str("apiserver_loadbalancer_domain_name", clusterVars)
            if let address = domain ?? lb["address"]?.string {
                endpoint.append("    external:                     # from loadbalancer_apiserver")
                endpoint.append("      address: \(quote(address))")
                if let port = lb["port"]?.string, str("kube_apiserver_port", clusterVars) == nil {
                    endpoint.append(
                        "    # kubespray's balancer listened on port \(port); Cairn's API port applies to both balancer and API servers"
                    )
                    note(
                        "loadbalancer_apiserver.port \(port) not carried over: set kubernetes.apiEndpoint.port if your balancer forwards the same port"
                    )
                }
                if domain != nil, let ip = lb["address"]?.string { sans.append(ip) }
            }
        } else if clusterVars["kube_vip_enabled"]?.isTrue == true, let vip = str("kube_vip_address", clusterVars) {
            endpoint.append("    kubeVip:                      # from kube_vip_*")
            endpoint.append("      virtualIP: \(quote(vip))")
            if let interface = str("kube_vip_interface", clusterVars) {
                endpoint.append("      interface: \(quote(interface))")
            }
        } else if controlPlane.count > 1 {
            note(
                "no loadbalancer_apiserver or kube-vip: kubespray balanced the API with a local nginx on every node; Cairn needs kubernetes.apiEndpoint (haproxyKeepalived, kubeVip or external)"
            )
            endpoint.append("    # kubespray used a local nginx on each node; choose one:")
            endpoint.append("    # haproxyKeepalived: {virtualIP: <free IP in the control-plane subnet>}")
        }
        for san in clusterVars["supplementary_addresses_in_ssl_keys"]?.list?.compactMap(\.string) ?? []
        where !sans.contains(san) {
            sans.append(san)
        }
        if !sans.isEmpty {
            endpoint.append("    extraSANs: [\(sans.map(quote).joined(separator: ", "))]")
        }
        if !endpoint.isEmpty {
            k8s.append("  apiEndpoint:")
            k8s.append(contentsOf: endpoint)
        }
        if !k8s.isEmpty {
            lines.append("kubernetes:")
            lines.append(contentsOf: k8s)
        }

        var etcdLines: [String] = []
        if let dir = str("etcd_data_dir", clusterVars) { etcdLines.append("  dataDir: \(quote(dir))") }
        if etcd.count == 1 {
            etcdLines.append("  allowSingleMember: true        # kubespray allowed a single etcd member")
        }
        if !etcdLines.isEmpty {
            lines.append("etcd:")
            lines.append(contentsOf: etcdLines)
        }

        // add-ons
        var addons: [String] = []
        var calico: [String] = []
        if let encapsulation = calicoEncapsulation(clusterVars) { calico.append("    encapsulation: \(encapsulation)") }
        if let block = str("calico_pool_blocksize", clusterVars) { calico.append("    blockSize: \(block)") }
        if let version = str("calico_version", clusterVars) {
            // Carried over as written; `cairn validate` refuses it, listing what is supported, if Cairn cannot install it.
            let bare = version.hasPrefix("v") ? String(version.dropFirst()) : version
            calico.append("    version: \"\(bare)\"")
        }
        if !calico.isEmpty {
            addons.append("  calico:")
            addons.append(contentsOf: calico)
        }
        if let replicas = str("dns_min_replicas", clusterVars) { addons.append("  coredns: {replicas: \(replicas)}") }

        let pools = metallbPools(clusterVars)
        if clusterVars["metallb_enabled"]?.isTrue == true {
            addons.append("  metallb:")
            addons.append("    enabled: true")
            if pools.isEmpty {
                note("metallb_enabled without address pools: add addons.metallb.addressPools")
            } else {
                addons.append("    addressPools:")
                for (name, ranges) in pools {
                    addons.append("      - name: \(quote(name))")
                    addons.append("        addresses: [\(ranges.map(quote).joined(separator: ", "))]")
                }
            }
            if let protocolName = str("metallb_protocol", clusterVars), protocolName != "layer2" {
                note("metallb_protocol \(protocolName): Cairn configures MetalLB in layer 2 mode")
            }
        } else {
            addons.append("  metallb: {enabled: false}        # kubespray's metallb_enabled was not set")
        }
        if clusterVars["ingress_nginx_enabled"]?.isTrue == true {
            addons.append("  ingress: {controller: ingress-nginx}   # retired upstream March 2026: consider traefik")
            note(
                "ingress_nginx_enabled: carried over as controller ingress-nginx, which was retired upstream in March 2026; consider traefik"
            )
        } else {
            addons.append("  ingress: {enabled: false}        # kubespray's ingress_nginx_enabled was not set")
        }
        lines.append("addons:")
        lines.append(contentsOf: addons)

        var header: [String] = []
        if !notes.isEmpty {
            header.append("#")
            header.append("# Not carried over, or changed:")
            for text in notes { header.append("#   - " + text.replacingControlCharacters) }
        }
        lines.insert(contentsOf: header, at: notesMarker)
        return Output(yaml: lines.joined(separator: "\n") + "\n", notes: notes)
    }

    static func splitTaint(_ text: String) -> (String, String?, String) {
        var rest = text
        var effect = "NoSchedule"
        if let colon = rest.lastIndex(of: ":") {
            effect = String(rest[rest.index(after: colon)...])
            rest = String(rest[..<colon])
        }
        if let eq = rest.firstIndex(of: "=") {
            return (String(rest[..<eq]), String(rest[rest.index(after: eq)...]), effect)
        }
        return (rest, nil, effect)
    }

    static func calicoEncapsulation(_ vars: [String: Value]) -> String? {
        let ipip = vars["calico_ipip_mode"]?.string
        let vxlan = vars["calico_vxlan_mode"]?.string
        if ipip == nil && vxlan == nil {
            if let backend = vars["calico_network_backend"]?.string, backend == "bird" { return "IPIP" }
            return nil
        }
        switch (ipip ?? "Never", vxlan ?? "Never") {
        case ("Always", _): return "IPIP"
        case ("CrossSubnet", _): return "IPIPCrossSubnet"
        case (_, "Always"): return "VXLAN"
        case (_, "CrossSubnet"): return "VXLANCrossSubnet"
        default: return "None"
        }
    }

    /// From `metallb_config.address_pools.<name>.ip_range` (current kubespray) or `metallb_ip_range` (older).
    static func metallbPools(_ vars: [String: Value]) -> [(String, [String])] {
        if case .map(let pools)? = vars["metallb_config"]?["address_pools"] {
            return pools.map { name, body in
                let ranges = body["ip_range"]?.list?.compactMap(\.string) ?? body["ip_range"]?.string.map { [$0] } ?? []
                return (
                    name.lowercasedASCII.replacingOccurrences(of: "_", with: "-"),
                    ranges.map { $0.replacingOccurrences(of: " ", with: "") }
                )
            }
        }
        if let ranges = vars["metallb_ip_range"]?.list?.compactMap(\.string)
            ?? vars["metallb_ip_range"]?.string.map({ [$0] })
        {
            return [("default", ranges.map { $0.replacingOccurrences(of: " ", with: "") })]
        }
        return []
    }

    /// A YAML scalar: bare when it reads back as the same string, double-quoted otherwise.
    static func quote(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let safe =
            !bytes.isEmpty
            && bytes.allSatisfy {
                Grammar.isAlnum($0)
                    || [UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "@")]
                        .contains($0)
            } && !["-", "."].contains(text.first) && ValueKind(Node.Scalar(text, .implicit, .plain)) == .string
        if safe { return text }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\x%02X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
