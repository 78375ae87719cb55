import CairnArtifacts
import CairnEngine
import CairnInventory
import Foundation

/// LoadBalancer addresses: MetalLB (`metallb-native.yaml`) in layer 2, with the inventory's pools.
public struct MetalLB: Addon {
    public static let name = "metallb"
    public static let documentation = (
        does:
            "metallb-native (upstream), Cairn's pools and L2 advertisements (`playbooks/addons/metallb-pool.yaml`; the webhook race retried); strictARP with IPVS",
        gate:
            "controller available, speakers on every node; in a run that changed MetalLB, a throw-away LoadBalancer service gets an address"
    )

    /// `addons.metallb`.
    public struct Settings: AddonSettings {
        public static let key = "metallb"
        public static let summary = "LoadBalancer addresses."
        public static let versions = [
            SupportedVersions.Component(
                field: "addons.metallb.version", supported: ["0.16.1", "0.16.2"], defaultVersion: "0.16.2")
        ]
        public static let sections = [
            InventorySchema.Section(
                path: "addons.metallb", summary: "",
                fields: [
                    InventorySchema.f("enabled", "boolean", "`true`", "Install MetalLB (L2 mode)."),
                    InventorySchema.f(
                        "version", "string", "`\(versions[0].defaultVersion)`",
                        InventorySchema.versions(versions[0]) + "."),
                    InventorySchema.f(
                        "addressPools", "list", "none",
                        "See `addons.metallb.addressPools[]`. Pools must not overlap each other."),
                ]),
            InventorySchema.Section(
                path: "addons.metallb.addressPools[]", summary: "",
                fields: [
                    InventorySchema.f("name", "string", "required", "RFC 1123 label, unique."),
                    InventorySchema.f(
                        "addresses", "list of strings", "required",
                        "CIDRs (`10.0.2.0/28`) or ranges (`10.0.0.200-10.0.0.220`); must not overlap the pod or service subnet, nor contain a host address or the API virtual IP."
                    ),
                ]),
        ]

        /// One pool: its entries as written and as ranges (parsed once, here).
        public struct Pool: Sendable, Equatable {
            public var name: String
            public var addresses: [String]
            public var ranges: [IPRange]

            public init(name: String, addresses: [String]) {
                self.name = name
                self.addresses = addresses
                ranges = addresses.compactMap { try? IPRange.parsePoolEntry($0).get() }
            }
        }

        public var enabled = true
        public var version = Settings.versions[0].defaultVersion
        public var addressPools: [Pool] = []

        public init(defaultsFor cluster: ClusterShape) {}

        public mutating func read(_ section: SettingsSection, cluster: ClusterShape) {
            enabled = section.bool("enabled") ?? enabled
            version = section.version("version", Self.versions[0]) ?? version
            for pool in section.mappings("addressPools", section: Self.sections[1]) {
                var name = ""
                if let written = pool.string("name") {
                    if Grammar.isDNSLabel(written) {
                        name = written
                    } else {
                        pool.error(
                            "name", "pool name \"\(written)\" is not an RFC 1123 label (lowercase letters, digits, '-')"
                        )
                    }
                } else if !pool.has("name") {
                    pool.error("name", "an address pool needs a name")
                }
                var entries: [String] = []
                if let written = pool.strings("addresses") {
                    if written.isEmpty { pool.error("addresses", "an address pool needs at least one CIDR or range") }
                    for entry in written {
                        switch IPRange.parsePoolEntry(entry.value) {
                        case .success: entries.append(entry.value)
                        case .failure(let problem): entry.error(problem.description)
                        }
                    }
                } else if !pool.has("addresses") {
                    pool.error("addresses", "an address pool needs addresses: CIDRs or ranges")
                }
                addressPools.append(Pool(name: name, addresses: entries))
            }
        }

        public mutating func validate(in inventory: Inventory, _ report: ValidationReport) {
            guard enabled else { return }
            struct NamedRange {
                var range: IPRange
                var path: String
                var label: String
            }
            var seenNames: [String: Int] = [:]
            var ranges: [NamedRange] = []
            for (poolIndex, pool) in addressPools.enumerated() {
                if !pool.name.isEmpty {
                    if let first = seenNames[pool.name] {
                        report.error(
                            "addons.metallb.addressPools[\(poolIndex)].name",
                            "duplicate pool name \"\(pool.name)\" (also addressPools[\(first)])")
                    } else {
                        seenNames[pool.name] = poolIndex
                    }
                }
                for (entryIndex, (entry, range)) in zip(pool.addresses, pool.ranges).enumerated() {
                    ranges.append(
                        NamedRange(
                            range: range, path: "addons.metallb.addressPools[\(poolIndex)].addresses[\(entryIndex)]",
                            label: "\(entry) (pool \(pool.name.isEmpty ? String(poolIndex) : pool.name))"))
                }
            }
            let subnets = [
                ("podSubnet", IPNetwork(inventory.kubernetes.podSubnet)),
                ("serviceSubnet", IPNetwork(inventory.kubernetes.serviceSubnet)),
            ]
            for (index, current) in ranges.enumerated() {
                for (name, network) in subnets {
                    if let network, current.range.overlaps(network.range) {
                        report.error(current.path, "address pool \(current.label) overlaps \(name) \(network)")
                    }
                }
                for other in ranges[..<index] where other.range.overlaps(current.range) {
                    report.error(current.path, "address pool \(current.label) overlaps \(other.label) at \(other.path)")
                }
                var contained: [String] = []
                for (hostIndex, host) in inventory.hosts.enumerated() {
                    let ips = Set([host.address, host.internalAddress].compactMap(IPAddress.init))
                    for ip in ips.sorted() where current.range.contains(ip) {
                        contained.append("\(ip) of hosts[\(hostIndex)] (\(host.name))")
                    }
                }
                if !contained.isEmpty {
                    let shown =
                        contained.count > 5
                        ? contained.prefix(5).joined(separator: ", ") + " and \(contained.count - 5) more"
                        : contained.joined(separator: ", ")
                    report.error(
                        current.path,
                        "address pool \(current.label) contains host address\(contained.count == 1 ? "" : "es") \(shown)",
                        hint: "MetalLB would hand a host's address to a service")
                }
                if let vip = inventory.kubernetes.apiEndpoint.virtualIP.flatMap({ IPAddress($0.address) }),
                    current.range.contains(vip)
                {
                    report.error(current.path, "address pool \(current.label) contains the API virtual IP \(vip)")
                }
            }
        }
    }

    let settings: Settings
    let topology: Topology

    public init(settings: Settings, topology: Topology) {
        self.settings = settings
        self.topology = topology
    }

    public var title: String { "MetalLB (LoadBalancer addresses)" }
    public var isEnabled: Bool { settings.enabled }
    public var gateTimeout: Duration { .seconds(300) }

    static func manifests(_ version: String) -> [ArtifactSpec] {
        [
            ArtifactCatalog.manifest(
                name: "metallb-native", version: version,
                url:
                    "https://raw.githubusercontent.com/metallb/metallb/v\(version)/config/manifests/metallb-native.yaml"
            )
        ]
    }

    public func definition() throws -> AddonDefinition {
        let pools = try settings.addressPools.map { pool in
            try Template.render(
                "playbooks/addons/metallb-pool.yaml",
                [
                    "name": pool.name, "addresses": Template.indent(pool.addresses.map { "- " + $0 }, 2),
                ])
        }.joined(separator: "---\n")
        var definition = AddonDefinition(
            name: Self.name, version: settings.version, manifests: Self.manifests(settings.version),
            rendered: pools.isEmpty ? nil : pools,
            mustExist: [.init("metallb-system", "deployment/controller"), .init("metallb-system", "daemonset/speaker")])
        // kube-proxy in IPVS mode answers ARP for every service address unless strictARP is on,
        // which breaks MetalLB's layer-2 mode. Idempotent: a no-op once it is on.
        if topology.inventory.kubernetes.proxyMode == .ipvs {
            definition.beforeRendered = [
                ("set strictARP in kube-proxy's configuration (IPVS mode)", .cairnMetallbStrictArp)
            ]
        }
        return definition
    }

    public func gate(_ check: AddonCheck) async throws -> Gate.Outcome {
        let kubectl = check.kubectl
        let controller = try await kubectl.get(
            K8s.Deployment.self, ["deployment", "controller", "-n", "metallb-system"])
        if controller.available < 1 {
            let problems = try await kubectl.podProblems(namespace: "metallb-system", selector: "component=controller")
            return .notYet(
                "the MetalLB controller is not available"
                    + (problems.isEmpty ? "" : ": " + problems.joined(separator: "; ")))
        }
        let nodes = try await kubectl.nodes()
        let speaker = try await kubectl.get(K8s.DaemonSet.self, ["daemonset", "speaker", "-n", "metallb-system"])
        if speaker.ready < nodes.all.count {
            return .notYet("speakers ready on \(speaker.ready) of \(nodes.all.count) nodes")
        }
        // After a change, a throw-away LoadBalancer service must get an address from a pool.
        guard check.appliedThisRun, !settings.addressPools.isEmpty else {
            return .passed("controller available, speakers on \(nodes.all.count) nodes")
        }
        let path = AddonFacts.path(Self.name, "probe.yaml")
        try await kubectl.apply(try Template.text("playbooks/addons/metallb-probe.yaml"), at: path, clock: check.clock)
        defer { Task { _ = try? await kubectl.run(["delete", "-f", path, "--ignore-not-found"]) } }
        for _ in 0..<10 {
            let service = try await kubectl.get(
                K8s.Service.self, ["service", "cairn-metallb-probe", "-n", "metallb-system"])
            if let ip = service.loadBalancerIP {
                _ = try? await kubectl.run(["delete", "-f", path, "--ignore-not-found"])
                return .passed("controller available, speakers on \(nodes.all.count) nodes, a test service got \(ip)")
            }
            try await check.clock.sleep(for: .seconds(1))
        }
        return .notYet("a LoadBalancer test service got no address from the pools")
    }

    public var workloads: [Workload] {
        [
            Workload(
                "metallb-controller", .deployment, object: "controller", namespace: "metallb-system",
                selector: "component=controller"),
            Workload(
                "metallb-speaker", .daemonset, object: "speaker", namespace: "metallb-system",
                selector: "component=speaker"),
        ]
    }
}

extension AddonSettingsSet {
    /// `addons.metallb`.
    public var metallb: MetalLB.Settings {
        get { self[MetalLB.Settings.self] }
        set { self[MetalLB.Settings.self] = newValue }
    }
}
