/// The rules that relate fields to each other: counts of roles, unique names and addresses,
/// subnets that must not overlap, where the virtual IP may live, what the add-ons can be given.
struct CrossFieldValidator {
    let inventory: Inventory
    let facts: InventoryDecoder.Facts
    let context: DecodeContext

    func run() -> Inventory {
        var inventory = inventory
        checkUniqueHosts()
        checkRoles()
        checkZones()
        checkAPIEndpoint()
        checkSubnets()
        // Each add-on's own rules, in the order they were registered.
        let report = ValidationReport(context: context)
        for key in inventory.addons.keys {
            guard var settings = inventory.addons.value(key) else { continue }
            settings.validate(in: inventory, report)
            inventory.addons.set(settings)
        }
        return inventory
    }

    // MARK: - Hosts

    private func checkUniqueHosts() {
        var names: [String: Int] = [:]
        var addresses: [String: (index: Int, field: String)] = [:]
        for (index, host) in inventory.hosts.enumerated() {
            if !host.name.isEmpty {
                if let first = names[host.name] {
                    context.error(
                        "hosts[\(index)].name", "duplicate host name \"\(host.name)\" (also hosts[\(first)].name)",
                        hint: "host names become node names and must be unique")
                } else {
                    names[host.name] = index
                }
            }
            // The SSH address (as written, IPs canonical) and the internal IP, once per host.
            var keys: [(String, String)] = []
            if !host.address.isEmpty {
                keys.append((IPAddress(host.address)?.description ?? host.address.lowercasedASCII, "address"))
            }
            if !host.internalAddress.isEmpty, !keys.contains(where: { $0.0 == host.internalAddress }) {
                keys.append((host.internalAddress, "internalAddress"))
            }
            for (key, field) in keys {
                if let first = addresses[key], first.index != index {
                    let path =
                        context.positions["hosts[\(index)].\(field)"] != nil
                        ? "hosts[\(index)].\(field)" : "hosts[\(index)].address"
                    context.error(
                        path, "duplicate address \(key) (also hosts[\(first.index)].\(first.field))",
                        hint: "each host needs its own addresses")
                } else if addresses[key] == nil {
                    addresses[key] = (index, field)
                }
            }
        }
    }

    private func checkRoles() {
        guard !inventory.hosts.isEmpty else { return }
        let controlPlanes = inventory.controlPlaneHosts.count
        if controlPlanes == 0 {
            context.error(
                "hosts", "no host has the control-plane role",
                hint: "add control-plane to the roles of one host, or of three for high availability")
        }
        let etcd = inventory.etcdHosts.count
        if etcd == 0 {
            context.error(
                "hosts", "no host has the etcd role; Cairn runs etcd on the hosts you give the etcd role",
                hint: "add etcd to the roles of the control-plane hosts (3 for high availability)")
        } else if etcd == 1 && !inventory.etcd.allowSingleMember {
            context.error(
                etcdRolePath(), "a single etcd member has no fault tolerance and is refused unless asked for",
                hint: controlPlanes > 1
                    ? "give 3 hosts the etcd role"
                    : "set etcd.allowSingleMember: true for a single-member cluster, or give 3 hosts the etcd role")
        } else if etcd > 1 && etcd % 2 == 0 {
            context.error(
                etcdRolePath(),
                "\(etcd) etcd members: an even count tolerates no more failures than \(etcd - 1) and is refused",
                hint: "use \(etcd - 1) or \(etcd + 1) etcd hosts")
        }
    }

    /// With zones: every host in one, and no zone whose loss takes etcd's quorum or every
    /// control-plane host with it.
    private func checkZones() {
        let zoned = inventory.hosts.filter { $0.zone != nil }
        guard !zoned.isEmpty else { return }
        let unzoned = inventory.hosts.enumerated().filter { $0.element.zone == nil }
        if let first = unzoned.first {
            context.warning(
                "hosts[\(first.offset)]",
                "\(unzoned.map(\.element.name).joined(separator: ", ")) \(unzoned.count == 1 ? "has" : "have") no zone while other hosts have one",
                hint: "give every host a zone:")
        }
        let zones = Set(zoned.compactMap(\.zone))
        guard zones.count > 1 else { return }
        let etcd = inventory.etcdHosts
        let quorum = etcd.count / 2 + 1
        let controlPlanes = inventory.controlPlaneHosts
        for zone in zones.sorted() {
            let etcdHere = etcd.filter { $0.zone == zone }
            if etcd.count > 1 && etcd.count - etcdHere.count < quorum {
                context.warning(
                    etcdRolePath(),
                    "losing zone \(zone) loses etcd quorum: it holds \(etcdHere.count) of \(etcd.count) members (\(etcdHere.map(\.name).joined(separator: ", ")))",
                    hint: "spread the etcd hosts over at least 3 zones, at most \(etcd.count - quorum) in any one")
            }
            if controlPlanes.count > 1 && controlPlanes.allSatisfy({ $0.zone == zone }) {
                context.warning(
                    "hosts", "every control-plane host is in zone \(zone): losing it loses the API",
                    hint: "put control-plane hosts in at least two zones")
            }
        }
    }

    /// The roles list of the last etcd host: where adding or removing a member is written.
    private func etcdRolePath() -> String {
        guard let index = inventory.hosts.lastIndex(where: { $0.has(.etcd) }) else { return "hosts" }
        return "hosts[\(index)].roles"
    }

    // MARK: - API endpoint

    private func checkAPIEndpoint() {
        let controlPlanes = inventory.controlPlaneHosts
        let endpoint = inventory.kubernetes.apiEndpoint
        if controlPlanes.count > 1 && facts.endpointModesWritten.isEmpty {
            let example =
                controlPlanes.compactMap { IPAddress($0.internalAddress) }.first.map { ip in
                    ip.isIPv4 ? " (a free address in \(IPNetwork(containing: ip, prefixLength: 24)))" : ""
                } ?? ""
            context.error(
                "kubernetes.apiEndpoint",
                "\(controlPlanes.count) control-plane hosts need a load-balanced API endpoint",
                hint:
                    "add kubernetes.apiEndpoint.nodeLocal: {} (a balancer on every host, no virtual IP needed), "
                    + "or haproxyKeepalived: {virtualIP: <IP>}\(example), or kubeVip, or external: {address: <your balancer>}"
            )
        }
        guard let vip = endpoint.virtualIP, let ip = IPAddress(vip.address), let path = facts.virtualIPPath else {
            return
        }
        for (index, host) in inventory.hosts.enumerated()
        where IPAddress(host.address) == ip || IPAddress(host.internalAddress) == ip {
            context.error(
                path, "virtual IP \(ip) is also the address of hosts[\(index)] (\(host.name))",
                hint: "pick an unused address in the control-plane subnet")
        }
        let cpAddresses = controlPlanes.compactMap { IPAddress($0.internalAddress) }
        guard !cpAddresses.isEmpty else { return }
        let sameFamily = cpAddresses.filter { $0.isIPv4 == ip.isIPv4 }
        if sameFamily.isEmpty {
            context.error(
                path,
                "virtual IP \(ip) is IPv\(ip.isIPv4 ? 4 : 6) but the control-plane hosts' internal addresses are not")
            return
        }
        let subnets = sameFamily.map { IPNetwork(containing: $0, prefixLength: vip.prefixLength) }
        if !subnets.contains(where: { $0.contains(ip) }) {
            let shown = Array(Set(subnets.map(\.description))).sorted().joined(separator: ", ")
            context.error(
                path,
                "virtual IP \(ip) is outside the control-plane hosts' subnet (\(shown), taken as /\(vip.prefixLength))",
                hint:
                    "the VIP must be reachable on the control-plane hosts' network; set virtualIPPrefix if the subnet is larger than /\(vip.prefixLength)"
            )
        }
    }

    // MARK: - Subnets

    private func checkSubnets() {
        let kubernetes = inventory.kubernetes
        let pod = IPNetwork(kubernetes.podSubnet)
        let service = IPNetwork(kubernetes.serviceSubnet)
        if let pod, let service, pod.overlaps(service) {
            context.error(
                "kubernetes.serviceSubnet", "serviceSubnet \(service) overlaps podSubnet \(pod)",
                hint: "the defaults are 10.244.0.0/16 for pods and 10.96.0.0/12 for services")
        }
        if let service, service.address.bitCount - service.prefixLength > 20 {
            context.error(
                "kubernetes.serviceSubnet",
                "serviceSubnet \(service) is too large: at most 20 host bits (/\(service.address.bitCount - 20)); the API server refuses larger ranges"
            )
        }
        // Node addresses must stay out of cluster ranges.
        for (index, host) in inventory.hosts.enumerated() {
            for (field, text) in [("address", host.address), ("internalAddress", host.internalAddress)] {
                guard let ip = IPAddress(text) else { continue }
                if field == "internalAddress" && IPAddress(host.address) == ip { continue }
                let path =
                    context.positions["hosts[\(index)].\(field)"] != nil
                    ? "hosts[\(index)].\(field)" : "hosts[\(index)].address"
                for (name, network) in [("podSubnet", pod), ("serviceSubnet", service)] {
                    if let network, network.contains(ip) {
                        context.error(
                            path, "host address \(ip) is inside \(name) \(network)",
                            hint: "choose a \(name) that does not cover the hosts' network")
                    }
                }
            }
        }
    }
}
