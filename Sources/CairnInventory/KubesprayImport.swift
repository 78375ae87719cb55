import Foundation
import Yams

/// Converts a kubespray (Ansible) inventory, `inventory.ini` or `hosts.yaml`, into a Cairn inventory.
///
/// The file is read as Ansible reads it (`KubesprayImport+Ansible.swift`): the same hosts, groups and
/// per-host variables `ansible-inventory --list` shows, which a test checks against ansible-core.
/// Carried over: hosts (the SSH address from `ansible_ssh_host`/`ansible_host` with Ansible's
/// precedence, `ip` → internalAddress, `access_ip` when there is no `ip`), roles from the
/// `kube_control_plane`, `kube_node` and `etcd` groups (also the old `kube-master`/`kube-node` names),
/// SSH user, port and key, the `bastion` group, node labels and taints, and the cluster settings listed
/// in `KubesprayImporter.mapped`, wherever they are set (group or host variables). Everything else is
/// listed in the notes and as comments at the top of the YAML.
enum KubesprayImporter {
    /// Reads either form, told apart by content; refuses Jinja templates.
    static func read(_ text: String) throws(Failure) -> AnsibleInventory {
        switch form(of: text) {
        case .ini:
            if let template = templateLine(in: text) { throw template }
            return try parseINI(text)
        case .yaml:
            // A block scalar may hold `{% … %}` lines; a template's own lines make the YAML invalid.
            do { return try parseYAML(text) } catch { throw templateLine(in: text) ?? error }
        }
    }

    /// Variables carried over or deliberately read (everything else is reported).
    static let mapped: Set<String> = hostScoped.union([
        "kube_version", "kube_pods_subnet", "kube_service_addresses", "cluster_name", "dns_domain", "kube_proxy_mode",
        "loadbalancer_apiserver", "apiserver_loadbalancer_domain_name", "kube_apiserver_port", "kube_vip_enabled",
        "kube_vip_address", "kube_vip_interface", "kube_vip_arp_enabled", "kube_vip_controlplane_enabled",
        "loadbalancer_apiserver_localhost", "loadbalancer_apiserver_type", "loadbalancer_apiserver_port",
        "supplementary_addresses_in_ssl_keys", "etcd_data_dir", "calico_ipip_mode", "calico_vxlan_mode",
        "calico_network_backend", "calico_pool_blocksize", "calico_version", "metallb_enabled", "metallb_config",
        "metallb_ip_range", "metallb_speaker_enabled", "metallb_protocol", "ingress_nginx_enabled",
        "dns_min_replicas", "kube_network_plugin", "etcd_deployment_type", "container_manager",
        "kube_network_node_prefix",
    ])

    /// Variables that describe one host; the others are cluster settings, one value for the cluster.
    static let hostScoped: Set<String> = [
        "ansible_host", "ansible_ssh_host", "ansible_user", "ansible_ssh_user", "ansible_port", "ansible_ssh_port",
        "ansible_ssh_private_key_file", "ansible_private_key_file", "ansible_connection", "ansible_become",
        "ansible_group_priority", "ip", "access_ip", "etcd_member_name", "node_labels", "node_taints",
    ]

    static let controlPlaneGroups = ["kube_control_plane", "kube-master", "kube_master"]
    static let workerGroups = ["kube_node", "kube-node"]

    /// Connection types that are SSH underneath.
    static let sshConnections: Set<String> = [
        "ssh", "smart", "paramiko", "paramiko_ssh", "ansible.builtin.ssh", "ansible.builtin.paramiko_ssh",
    ]

    struct Output {
        var yaml: String
        var notes: [String]
    }

    /// The SSH settings Ansible uses for a host: the `ansible_ssh_*` spellings win over the modern
    /// names wherever each is set (ansible-core's ssh plugin reads both, the last listed wins).
    static func ssh(_ vars: [String: Value]) -> (address: String?, user: String?, port: String?, key: String?) {
        func first(_ keys: String...) -> String? {
            keys.lazy.compactMap { vars[$0].flatMap(text) }.first
        }
        return (
            first("ansible_ssh_host", "ansible_host"), first("ansible_ssh_user", "ansible_user"),
            first("ansible_ssh_port", "ansible_port"),
            first("ansible_ssh_private_key_file", "ansible_private_key_file")
        )
    }

    /// A scalar variable as text; nil for null, lists and mappings.
    static func text(_ value: Value) -> String? {
        value.string.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// `a, b, c and 4 more`.
    static func names(_ list: [String], limit: Int = 4) -> String {
        list.count <= limit
            ? list.joined(separator: ", ")
            : list.prefix(limit).joined(separator: ", ") + " and \(list.count - limit) more"
    }

    static func convert(_ ansible: AnsibleInventory, source: String) throws(Failure) -> Output {
        var notes: [String] = []
        var noted: Set<String> = []
        var lines: [String] = []
        func note(_ text: String) { if noted.insert(text).inserted { notes.append(text) } }
        for warning in ansible.warnings { note(warning) }

        let byHost = ansible.groupsByHost
        let hostVars = ansible.effectiveVars(byHost: byHost)
        func members(_ groups: [String]) -> [String] {
            ansible.hostOrder.filter { host in groups.contains { byHost[host]?.contains($0) == true } }
        }
        let controlPlane = Set(members(controlPlaneGroups))
        let workers = Set(members(workerGroups))
        let etcd = Set(members(["etcd"]))
        for legacy in ["kube-master", "kube_master", "kube-node", "k8s-cluster"] where ansible.groups[legacy] != nil {
            let modern =
                legacy.contains("master") ? "kube_control_plane" : legacy == "kube-node" ? "kube_node" : "k8s_cluster"
            note("group \(legacy) is kubespray's old name; read as \(modern)")
        }
        let bastions = members(["bastion"])
        let bastionHost = bastions.first
        let bastionSet = Set(bastions)
        if bastions.count > 1 {
            note("the bastion group has \(bastions.count) hosts; Cairn uses one jump host, \(bastions[0])")
        }
        let clusterHosts = ansible.hostOrder.filter {
            !bastionSet.contains($0) && (controlPlane.contains($0) || workers.contains($0) || etcd.contains($0))
        }
        let clusterSet = Set(clusterHosts)
        guard !clusterHosts.isEmpty else {
            let others = ansible.hostOrder.filter { !bastionSet.contains($0) }
            throw Failure(
                message: others.isEmpty
                    ? "the inventory defines no hosts (is everything commented out?)"
                    : "no host is in kube_control_plane, kube_node or etcd (hosts found: \(names(others)))",
                line: nil,
                hint: "a kubespray inventory lists its hosts in the kube_control_plane, kube_node and etcd groups")
        }
        let outside = ansible.hostOrder.filter { !bastionSet.contains($0) && !clusterSet.contains($0) }
        if !outside.isEmpty {
            note(
                "host\(outside.count == 1 ? "" : "s") \(names(outside)) in none of kube_control_plane, kube_node, etcd; not carried over"
            )
        }

        // Cluster settings: one value for the cluster, wherever Ansible got it for each host.
        let kubernetesHosts = clusterHosts.filter { controlPlane.contains($0) || workers.contains($0) }
        let etcdHosts = clusterHosts.filter { etcd.contains($0) }
        let firstControlPlane = clusterHosts.first { controlPlane.contains($0) } ?? clusterHosts[0]
        func scope(_ key: String) -> [String] {
            let hosts = key.hasPrefix("etcd_") ? etcdHosts : kubernetesHosts
            return hosts.isEmpty ? clusterHosts : hosts
        }
        func render(_ value: Value?) -> String {
            switch value {
            case .string(let s)?: return s
            case .null?, nil: return "unset"
            case .list?, .map?: return "a structure"
            }
        }
        var clusterVars: [String: Value] = [:]
        let settingKeys = Set(clusterHosts.flatMap { hostVars[$0]?.keys.map { $0 } ?? [] }).subtracting(hostScoped)
            .intersection(mapped)
        for key in settingKeys.sorted() {
            let hosts = scope(key)
            let chosen = hosts.contains(firstControlPlane) ? firstControlPlane : hosts[0]
            var byValue: [(value: Value?, hosts: [String])] = []
            for host in hosts {
                let value = hostVars[host]?[key]
                if let index = byValue.firstIndex(where: { $0.value == value }) {
                    byValue[index].hosts.append(host)
                } else {
                    byValue.append((value, [host]))
                }
            }
            if byValue.count > 1 {
                let shown = byValue.map { "\(render($0.value)) on \(names($0.hosts))" }.joined(separator: "; ")
                note(
                    "\(key) differs between hosts (\(shown)); Cairn applies one value to the whole cluster: \(chosen)'s (\(render(hostVars[chosen]?[key])))"
                )
            }
            if let value = hostVars[chosen]?[key] { clusterVars[key] = value }
        }
        /// Every value a cluster setting has on some host, for notes that must name each one.
        func allValues(_ key: String) -> [String] {
            var out: [String] = []
            for host in scope(key) {
                if let value = hostVars[host]?[key].flatMap(text), !out.contains(value) { out.append(value) }
            }
            return out
        }

        // Variables Cairn has no place for, with where they were set.
        var unmapped: [String: [String]] = [:]
        let clusterGroups = Set(clusterHosts.flatMap { byHost[$0] ?? [] })
        for group in ansible.groupOrder where clusterGroups.contains(group) {
            for (key, _) in ansible.groups[group]?.vars ?? [] where !mapped.contains(key) {
                unmapped[key, default: []].append("group \(group)")
            }
        }
        for host in clusterHosts {
            for (key, _) in ansible.hostVars[host] ?? [] where !mapped.contains(key) {
                unmapped[key, default: []].append("host \(host)")
            }
        }
        for key in unmapped.keys.sorted() {
            note("variable \(key) (\(names(unmapped[key]!))) has no Cairn equivalent; not carried over")
        }

        func str(_ key: String, _ vars: [String: Value]) -> String? { vars[key].flatMap(text) }
        /// An integer as a bare YAML number; anything else quoted, for `cairn validate` to refuse.
        func integer(_ text: String) -> String { Int(text) != nil ? text : quote(text) }

        // SSH: Ansible's precedence between the two spellings, reported where they disagree.
        let sshByHost = Dictionary(uniqueKeysWithValues: ansible.hostOrder.map { ($0, ssh(hostVars[$0] ?? [:])) })
        for (old, modern) in [
            ("ansible_ssh_host", "ansible_host"), ("ansible_ssh_user", "ansible_user"),
            ("ansible_ssh_port", "ansible_port"),
        ] {
            let both = clusterHosts.filter { host in
                let vars = hostVars[host] ?? [:]
                return str(old, vars) != nil && str(modern, vars) != nil && str(old, vars) != str(modern, vars)
            }
            if !both.isEmpty {
                note(
                    "\(old) and \(modern) differ on \(names(both)): Ansible uses \(old) (the older spelling wins wherever each is set), and so does Cairn"
                )
            }
        }
        // SSH user/port/key shared by all hosts go to the top-level ssh section.
        func shared(_ field: ((address: String?, user: String?, port: String?, key: String?)) -> String?) -> String? {
            let values = clusterHosts.map { field(sshByHost[$0]!) }
            guard let first = values.first, let value = first, values.allSatisfy({ $0 == value }) else { return nil }
            return value
        }
        let sharedUser = shared(\.user)
        let sharedPort = shared(\.port)
        let sharedKey = shared(\.key)

        lines.append("# Cairn inventory converted from the kubespray inventory \(source)")
        lines.append("# by `cairn inventory import --from kubespray`. Review it, then run `cairn validate -i FILE`.")
        let notesMarker = lines.count
        lines.append("apiVersion: \(SupportedVersions.currentAPIVersion)")
        lines.append("kind: Cluster")
        lines.append("name: cairn                      # kubespray inventories carry no cluster name; choose one")

        var sshLines: [String] = []
        if let sharedUser { sshLines.append("  user: \(quote(sharedUser))") }
        if let sharedPort { sshLines.append("  port: \(integer(sharedPort))") }
        if let sharedKey { sshLines.append("  identityFile: \(quote(sharedKey))") }
        if let bastionHost, let bastion = sshByHost[bastionHost] {
            sshLines.append("  bastion:                       # from the kubespray bastion group")
            sshLines.append("    address: \(quote(bastion.address ?? bastionHost))")
            if let user = bastion.user { sshLines.append("    user: \(quote(user))") }
            if let port = bastion.port { sshLines.append("    port: \(integer(port))") }
        }
        if !sshLines.isEmpty {
            lines.append("ssh:")
            lines.append(contentsOf: sshLines)
        }

        lines.append("hosts:")
        var byName: [String] = []
        for host in clusterHosts {
            let hv = hostVars[host] ?? [:]
            let ssh = sshByHost[host]!
            var name = host
            if !Grammar.isDNSSubdomain(name) {
                let lowered = host.lowercasedASCII.replacingOccurrences(of: "_", with: "-")
                name = lowered
                note("host name \(host) is not an RFC 1123 hostname; written as \(lowered)")
            }
            let ip = str("ip", hv)
            let accessIP = str("access_ip", hv)
            let address = ssh.address ?? host
            let internalIP = ip ?? accessIP
            let connection = str("ansible_connection", hv)
            if connection == "local" {
                note(
                    "ansible_connection local on \(host): Ansible ran its tasks on the machine running Ansible, without SSH; Cairn reaches every host over SSH, at address \(address) (use 127.0.0.1 if Cairn runs on \(host), with sshd listening)"
                )
            } else if let connection, !sshConnections.contains(connection) {
                note(
                    "ansible_connection \(connection) on \(host): Cairn reaches every host over SSH, at address \(address)"
                )
            } else if ssh.address == nil && IPAddress(host) == nil {
                byName.append(host)
            }
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
            switch hv["node_labels"] {
            case .map(let labels)? where !labels.isEmpty:
                lines.append("    labels:")
                for (key, value) in labels {
                    switch value {
                    case .string(let text): lines.append("      \(quote(key)): \(quote(text))")
                    case .null: lines.append("      \(quote(key)): \"\"")
                    case .list, .map: note("node_labels \(key) of \(host) is not a single value; not carried over")
                    }
                }
            case .map?, .null?, nil:
                break
            case .string?, .list?:
                note("node_labels of \(host) is not a mapping of label names to values; not carried over")
            }
            switch hv["node_taints"] {
            case .list(let taints)? where !taints.isEmpty:
                lines.append("    taints:")
                for taint in taints.compactMap(\.string) {
                    let (key, value, effect) = splitTaint(taint)
                    lines.append(
                        "      - {key: \(quote(key))\(value.map { ", value: \(quote($0))" } ?? ""), effect: \(quote(effect))}"
                    )
                }
            case .list?, .null?, nil:
                break
            case .string?, .map?:
                note("node_taints of \(host) is not a list such as [\"key=value:NoSchedule\"]; not carried over")
            }
            var hostSSH: [String] = []
            if sharedUser == nil, let user = ssh.user { hostSSH.append("      user: \(quote(user))") }
            if sharedPort == nil, let port = ssh.port { hostSSH.append("      port: \(integer(port))") }
            if sharedKey == nil, let key = ssh.key { hostSSH.append("      identityFile: \(quote(key))") }
            if !hostSSH.isEmpty {
                lines.append("    ssh:")
                lines.append(contentsOf: hostSSH)
            }
        }
        if !byName.isEmpty {
            note(
                "\(names(byName)) \(byName.count == 1 ? "has" : "have") no ansible_host: Ansible connected by host name (through DNS or ~/.ssh/config), and so will Cairn (address: the host name)"
            )
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
        for plugin in allValues("kube_network_plugin") where plugin != "calico" {
            note("kube_network_plugin \(plugin): Cairn installs Calico")
        }
        for manager in allValues("container_manager") where manager != "containerd" {
            note("container_manager \(manager): Cairn uses containerd")
        }
        for type in allValues("etcd_deployment_type") where type != "host" {
            note("etcd_deployment_type \(type): Cairn runs etcd on the hosts as a systemd service")
        }
        if let prefix = str("kube_network_node_prefix", clusterVars) {
            note(
                "kube_network_node_prefix \(prefix) not carried over: Calico's per-node block is addons.calico.blockSize (calico_pool_blocksize)"
            )
        }

        var endpoint: [String] = []
        var sans: [String] = []
        if let lb = clusterVars["loadbalancer_apiserver"] {
            if let port = str("kube_apiserver_port", clusterVars) { endpoint.append("    port: \(integer(port))") }
            let domain = str("apiserver_loadbalancer_domain_name", clusterVars)
            if let address = domain ?? lb["address"].flatMap(text) {
                endpoint.append("    external:                     # from loadbalancer_apiserver")
                endpoint.append("      address: \(quote(address))")
                if let port = lb["port"].flatMap(text), str("kube_apiserver_port", clusterVars) == nil {
                    endpoint.append(
                        "    # kubespray's balancer listened on port \(port); Cairn's API port applies to both balancer and API servers"
                    )
                    note(
                        "loadbalancer_apiserver.port \(port) not carried over: set kubernetes.apiEndpoint.port if your balancer forwards the same port"
                    )
                }
                if domain != nil, let ip = lb["address"].flatMap(text) { sans.append(ip) }
            } else {
                note("loadbalancer_apiserver has no address; not carried over")
            }
        } else if clusterVars["kube_vip_enabled"]?.isTrue == true, let vip = str("kube_vip_address", clusterVars) {
            if let port = str("kube_apiserver_port", clusterVars) { endpoint.append("    port: \(integer(port))") }
            endpoint.append("    kubeVip:                      # from kube_vip_*")
            endpoint.append("      virtualIP: \(quote(vip))")
            if let interface = str("kube_vip_interface", clusterVars) {
                endpoint.append("      interface: \(quote(interface))")
            }
        } else if controlPlane.count > 1 {
            // kubespray's default (loadbalancer_apiserver_localhost): a balancer on every node, at
            // localhost:loadbalancer_apiserver_port, in front of every API server.
            if let port = str("loadbalancer_apiserver_port", clusterVars) ?? str("kube_apiserver_port", clusterVars),
                port != "6443"
            {
                endpoint.append("    port: \(integer(port))")
            }
            let type = str("loadbalancer_apiserver_type", clusterVars) ?? "nginx"
            if type == "haproxy" {
                endpoint.append("    nodeLocal: {engine: haproxy}   # kubespray's local haproxy on every node")
            } else {
                endpoint.append("    nodeLocal: {}                  # kubespray's local \(type) on every node")
                note(
                    "no loadbalancer_apiserver or kube-vip: kubespray balanced the API with \(type) on every node (loadbalancer_apiserver_localhost); Cairn's kubernetes.apiEndpoint.nodeLocal does the same with haproxy"
                )
            }
            if let localhost = clusterVars["loadbalancer_apiserver_localhost"], !localhost.isTrue {
                note(
                    "loadbalancer_apiserver_localhost is off: kubespray sent every node to the first control-plane host; Cairn balances through nodeLocal instead"
                )
            }
        } else if let port = str("kube_apiserver_port", clusterVars) {
            endpoint.append("    port: \(integer(port))")
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
        if let block = str("calico_pool_blocksize", clusterVars) { calico.append("    blockSize: \(integer(block))") }
        if let version = str("calico_version", clusterVars) {
            // Carried over as written; `cairn validate` refuses it, listing what is supported, if Cairn cannot install it.
            let bare = version.hasPrefix("v") ? String(version.dropFirst()) : version
            calico.append("    version: \"\(bare)\"")
        }
        if !calico.isEmpty {
            addons.append("  calico:")
            addons.append(contentsOf: calico)
        }
        if let replicas = str("dns_min_replicas", clusterVars) {
            addons.append("  coredns: {replicas: \(integer(replicas))}")
        }

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
