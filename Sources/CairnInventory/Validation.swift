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
        checkAPIEndpoint()
        checkSubnets()
        checkAddons(&inventory)
        return inventory
    }

    // MARK: - Hosts

    private func checkUniqueHosts() {
        var names: [String: Int] = [:]
        var addresses: [String: (index: Int, field: String)] = [:]
        for (index, host) in inventory.hosts.enumerated() {
            if !host.name.isEmpty {
                if let first = names[host.name] {
                    context.error("hosts[\(index)].name", "duplicate host name \"\(host.name)\" (also hosts[\(first)].name)",
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
                    let path = context.positions["hosts[\(index)].\(field)"] != nil ? "hosts[\(index)].\(field)" : "hosts[\(index)].address"
                    context.error(path, "duplicate address \(key) (also hosts[\(first.index)].\(first.field))",
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
            context.error("hosts", "no host has the control-plane role",
                          hint: "add control-plane to the roles of one host, or of three for high availability")
        }
        let etcd = inventory.etcdHosts.count
        if etcd == 0 {
            context.error("hosts", "no host has the etcd role; Cairn runs etcd on the hosts you give the etcd role",
                          hint: "add etcd to the roles of the control-plane hosts (3 for high availability)")
        } else if etcd == 1 && !inventory.etcd.allowSingleMember {
            context.error(etcdRolePath(), "a single etcd member has no fault tolerance and is refused unless asked for",
                          hint: controlPlanes > 1 ? "give 3 hosts the etcd role" : "set etcd.allowSingleMember: true for a single-member cluster, or give 3 hosts the etcd role")
        } else if etcd > 1 && etcd % 2 == 0 {
            context.error(etcdRolePath(), "\(etcd) etcd members: an even count tolerates no more failures than \(etcd - 1) and is refused",
                          hint: "use \(etcd - 1) or \(etcd + 1) etcd hosts")
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
            let example = controlPlanes.compactMap { IPAddress($0.internalAddress) }.first.map { ip in
                ip.isIPv4 ? " (a free address in \(IPNetwork(containing: ip, prefixLength: 24)))" : ""
            } ?? ""
            context.error("kubernetes.apiEndpoint",
                          "\(controlPlanes.count) control-plane hosts need a load-balanced API endpoint",
                          hint: "add kubernetes.apiEndpoint.haproxyKeepalived: {virtualIP: <IP>}\(example), or kubeVip, or external: {address: <your balancer>}")
        }
        guard let vip = endpoint.virtualIP, let ip = IPAddress(vip.address), let path = facts.virtualIPPath else { return }
        for (index, host) in inventory.hosts.enumerated()
        where IPAddress(host.address) == ip || IPAddress(host.internalAddress) == ip {
            context.error(path, "virtual IP \(ip) is also the address of hosts[\(index)] (\(host.name))",
                          hint: "pick an unused address in the control-plane subnet")
        }
        let cpAddresses = controlPlanes.compactMap { IPAddress($0.internalAddress) }
        guard !cpAddresses.isEmpty else { return }
        let sameFamily = cpAddresses.filter { $0.isIPv4 == ip.isIPv4 }
        if sameFamily.isEmpty {
            context.error(path, "virtual IP \(ip) is IPv\(ip.isIPv4 ? 4 : 6) but the control-plane hosts' internal addresses are not")
            return
        }
        let subnets = sameFamily.map { IPNetwork(containing: $0, prefixLength: vip.prefixLength) }
        if !subnets.contains(where: { $0.contains(ip) }) {
            let shown = Array(Set(subnets.map(\.description))).sorted().joined(separator: ", ")
            context.error(path, "virtual IP \(ip) is outside the control-plane hosts' subnet (\(shown), taken as /\(vip.prefixLength))",
                          hint: "the VIP must be reachable on the control-plane hosts' network; set virtualIPPrefix if the subnet is larger than /\(vip.prefixLength)")
        }
    }

    // MARK: - Subnets and pools

    private struct NamedRange {
        var range: IPRange
        var path: String
        var label: String
    }

    private func checkSubnets() {
        let kubernetes = inventory.kubernetes
        let pod = IPNetwork(kubernetes.podSubnet)
        let service = IPNetwork(kubernetes.serviceSubnet)
        if let pod, let service, pod.overlaps(service) {
            context.error("kubernetes.serviceSubnet", "serviceSubnet \(service) overlaps podSubnet \(pod)",
                          hint: "the defaults are 10.244.0.0/16 for pods and 10.96.0.0/12 for services")
        }
        if let service, service.address.bitCount - service.prefixLength > 20 {
            context.error("kubernetes.serviceSubnet", "serviceSubnet \(service) is too large: at most 20 host bits (/\(service.address.bitCount - 20)); the API server refuses larger ranges")
        }
        if let pod, inventory.addons.calico.enabled {
            let block = inventory.addons.calico.blockSize
            let validBlocks = pod.address.isIPv4 ? 20...32 : 116...128
            if !validBlocks.contains(block) {
                context.error("addons.calico.blockSize", "blockSize \(block) is not valid for an IPv\(pod.address.isIPv4 ? 4 : 6) pod subnet; expected \(validBlocks.lowerBound)–\(validBlocks.upperBound)")
            } else if block < pod.prefixLength {
                let written = context.positions["addons.calico.blockSize"] != nil
                context.error(written ? "addons.calico.blockSize" : "kubernetes.podSubnet",
                              "Calico's blockSize /\(block) is larger than podSubnet \(pod)",
                              hint: "use a blockSize of at least \(pod.prefixLength) or a larger pod subnet")
            }
        }
        // Node addresses must stay out of cluster ranges.
        for (index, host) in inventory.hosts.enumerated() {
            for (field, text) in [("address", host.address), ("internalAddress", host.internalAddress)] {
                guard let ip = IPAddress(text) else { continue }
                if field == "internalAddress" && IPAddress(host.address) == ip { continue }
                let path = context.positions["hosts[\(index)].\(field)"] != nil ? "hosts[\(index)].\(field)" : "hosts[\(index)].address"
                for (name, network) in [("podSubnet", pod), ("serviceSubnet", service)] {
                    if let network, network.contains(ip) {
                        context.error(path, "host address \(ip) is inside \(name) \(network)",
                                      hint: "choose a \(name) that does not cover the hosts' network")
                    }
                }
            }
        }
        checkPools(pod: pod, service: service)
    }

    private func checkPools(pod: IPNetwork?, service: IPNetwork?) {
        let metallb = inventory.addons.metallb
        guard metallb.enabled else { return }
        var seenNames: [String: Int] = [:]
        var ranges: [NamedRange] = []
        for (poolIndex, pool) in metallb.addressPools.enumerated() {
            if !pool.name.isEmpty {
                if let first = seenNames[pool.name] {
                    context.error("addons.metallb.addressPools[\(poolIndex)].name", "duplicate pool name \"\(pool.name)\" (also addressPools[\(first)])")
                } else {
                    seenNames[pool.name] = poolIndex
                }
            }
            for (entryIndex, entry) in pool.addresses.enumerated() {
                guard case .success(let range) = IPRange.parsePoolEntry(entry) else { continue }
                ranges.append(NamedRange(range: range, path: "addons.metallb.addressPools[\(poolIndex)].addresses[\(entryIndex)]",
                                         label: "\(entry) (pool \(pool.name.isEmpty ? String(poolIndex) : pool.name))"))
            }
        }
        for (index, current) in ranges.enumerated() {
            for (name, network) in [("podSubnet", pod), ("serviceSubnet", service)] {
                if let network, current.range.overlaps(network.range) {
                    context.error(current.path, "address pool \(current.label) overlaps \(name) \(network)")
                }
            }
            for other in ranges[..<index] where other.range.overlaps(current.range) {
                context.error(current.path, "address pool \(current.label) overlaps \(other.label) at \(other.path)")
            }
            var contained: [String] = []
            for (hostIndex, host) in inventory.hosts.enumerated() {
                let ips = Set([host.address, host.internalAddress].compactMap(IPAddress.init))
                for ip in ips.sorted() where current.range.contains(ip) {
                    contained.append("\(ip) of hosts[\(hostIndex)] (\(host.name))")
                }
            }
            if !contained.isEmpty {
                let shown = contained.count > 5 ? contained.prefix(5).joined(separator: ", ") + " and \(contained.count - 5) more"
                    : contained.joined(separator: ", ")
                context.error(current.path, "address pool \(current.label) contains host address\(contained.count == 1 ? "" : "es") \(shown)",
                              hint: "MetalLB would hand a host's address to a service")
            }
            if let vip = inventory.kubernetes.apiEndpoint.virtualIP.flatMap({ IPAddress($0.address) }), current.range.contains(vip) {
                context.error(current.path, "address pool \(current.label) contains the API virtual IP \(vip)")
            }
        }
    }

    // MARK: - Add-ons

    private func checkAddons(_ inventory: inout Inventory) {
        let schedulable = inventory.schedulableHosts.count
        guard schedulable > 0 else { return }
        let who = inventory.workerHosts.isEmpty ? "control-plane host" : "worker"
        let nodes = "\(schedulable) schedulable node\(schedulable == 1 ? "" : "s") (\(who)s)"

        if let written = facts.corednsReplicasWritten, written > schedulable {
            context.warning("addons.coredns.replicas", "\(written) CoreDNS replicas cannot be spread over \(nodes); it will be clamped to \(schedulable)")
            inventory.addons.coredns.replicas = schedulable
        }
        let ingress = inventory.addons.ingress
        if ingress.enabled, let written = facts.ingressReplicasWritten, written > schedulable {
            context.warning("addons.ingress.replicas", "\(written) ingress replicas cannot be spread over \(nodes); it will be clamped to \(schedulable)")
            inventory.addons.ingress.replicas = schedulable
        }
        if ingress.enabled && ingress.controller == .ingressNginx {
            context.warning("addons.ingress.controller", "ingress-nginx was retired upstream in March 2026 and receives no security fixes",
                            hint: "prefer controller: traefik")
        }
        if ingress.enabled && (!inventory.addons.metallb.enabled || inventory.addons.metallb.addressPools.isEmpty) {
            context.warning("addons.ingress", "the ingress controller's LoadBalancer service will get no external address: MetalLB has no address pool",
                            hint: "add addons.metallb.addressPools, or set addons.ingress.enabled: false")
        }
        if !inventory.addons.calico.enabled {
            context.warning("addons.calico.enabled", "without Calico the cluster has no pod network until you install one; nodes stay NotReady")
        }

        let rook = inventory.addons.rookCeph
        guard rook.enabled else { return }
        let storageHosts = rook.deviceSelection == .all ? schedulable : inventory.hosts.filter { !$0.storageDevices.isEmpty }.count
        if rook.deviceSelection == .all {
            context.warning("addons.rookCeph.deviceSelection", "deviceSelection all lets Ceph take and wipe every empty disk on every schedulable node",
                            hint: "list disks under hosts[i].storage.devices and use named")
        }
        if storageHosts == 0 {
            context.error(facts.rookEnabledWritten == true ? "addons.rookCeph.enabled" : "addons.rookCeph",
                          "Rook/Ceph is enabled but no host lists storage.devices",
                          hint: "add storage: {devices: [/dev/vdb]} to the hosts holding Ceph disks, or set enabled: false")
            return
        }
        if rook.poolReplicaSize > storageHosts {
            context.error("addons.rookCeph.poolReplicaSize",
                          "poolReplicaSize \(rook.poolReplicaSize) is larger than the \(storageHosts) host\(storageHosts == 1 ? "" : "s") with storage devices; Ceph places each replica on a different host",
                          hint: "use poolReplicaSize: \(storageHosts) or add devices to more hosts")
        }
        if rook.monCount % 2 == 0 {
            context.error("addons.rookCeph.monCount", "monCount \(rook.monCount) is even; Ceph monitors need an odd count for quorum",
                          hint: "use \(rook.monCount - 1) or \(rook.monCount + 1)")
        } else if rook.monCount > schedulable {
            context.error("addons.rookCeph.monCount", "monCount \(rook.monCount) is more than the \(nodes); each monitor needs its own node",
                          hint: "use monCount: \(schedulable % 2 == 1 ? schedulable : max(1, schedulable - 1))")
        }
    }
}
