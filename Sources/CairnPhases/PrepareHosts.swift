import CairnCore
import CairnEngine
import Foundation

/// What host preparation wants on every host.
public struct HostPreparation: Sendable, Equatable {
    /// Kernel modules to load now and at boot (`/etc/modules-load.d/cairn.conf`).
    public var modules: [String]
    /// Sysctls to set now and at boot (`/etc/sysctl.d/99-cairn.conf`), in file order.
    public var sysctls: [(key: String, value: String)]
    /// Turn swap off now and in /etc/fstab (kubelet refuses to run with swap by default).
    public var disableSwap: Bool
    /// Set each host's hostname to its inventory name.
    public var setHostname: Bool

    public static let modulesFile = "/etc/modules-load.d/cairn.conf"
    public static let sysctlFile = "/etc/sysctl.d/99-cairn.conf"

    public init(
        modules: [String] = ["overlay", "br_netfilter"],
        sysctls: [(key: String, value: String)] = HostPreparation.kubernetesSysctls,
        disableSwap: Bool = true, setHostname: Bool = false
    ) {
        self.modules = modules
        self.sysctls = sysctls
        self.disableSwap = disableSwap
        self.setHostname = setHostname
    }

    public static let kubernetesSysctls: [(key: String, value: String)] = [
        ("net.ipv4.ip_forward", "1"),
        ("net.bridge.bridge-nf-call-iptables", "1"),
        ("net.bridge.bridge-nf-call-ip6tables", "1"),
    ]

    public static func == (lhs: HostPreparation, rhs: HostPreparation) -> Bool {
        lhs.modules == rhs.modules
            && lhs.sysctls.map { "\($0.key)=\($0.value)" } == rhs.sysctls.map { "\($0.key)=\($0.value)" }
            && lhs.disableSwap == rhs.disableSwap && lhs.setHostname == rhs.setHostname
    }

    var modulesFileContent: String {
        "# Managed by cairn: kernel modules Kubernetes needs.\n" + modules.map { $0 + "\n" }.joined()
    }

    var sysctlFileContent: String {
        "# Managed by cairn: kernel settings Kubernetes needs.\n" + sysctls.map { "\($0.key) = \($0.value)\n" }.joined()
    }
}

/// Swap off, kernel modules and sysctls, hostname — changing only what differs.
public struct PrepareHostsPhase: Phase {
    public let name = "prepare-hosts"
    public let title = "Prepare hosts (swap, kernel modules, sysctls)"
    public let settings: HostPreparation

    public init(settings: HostPreparation) {
        self.settings = settings
    }

    public struct Facts: Sendable, Codable, Equatable {
        /// Active swap devices (lines of /proc/swaps after the header).
        public let swapActive: Int
        /// Uncommented swap lines in /etc/fstab.
        public let fstabSwap: Int
        /// Modules that are loaded or built in.
        public let modulesPresent: [String]
        /// Base64 of the files Cairn manages ("" when absent; "-" marks absence).
        public let modulesFile: String
        public let sysctlFile: String
        /// Live values of the wanted sysctls ("" when the key does not exist).
        public let sysctls: [String: String]
        public let hostname: String

        var modulesFileText: String? { Self.decode(modulesFile) }
        var sysctlFileText: String? { Self.decode(sysctlFile) }

        static func decode(_ field: String) -> String? {
            field == "-" ? nil : String(decoding: Data(base64Encoded: field) ?? Data(), as: UTF8.self)
        }
    }

    /// One round trip: everything host preparation needs to know, as JSON. Read-only.
    /// Arguments: the modules file, the sysctl file, then module names, "--", sysctl keys.

    public func factCommand() -> RemoteCommand {
        RemoteCommand.script(
            .cairnFactsPrepare,
            arguments: [HostPreparation.modulesFile, HostPreparation.sysctlFile] + settings.modules + ["--"]
                + settings.sysctls.map(\.key))
    }

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws -> Facts {
        try await executor.facts(factCommand(), as: Facts.self)
    }

    public func plan(facts: [EngineHost: Facts], context: PhaseContext) throws -> PhasePlan {
        let planned = context.hosts.flatMap { host in facts[host].map { self.steps(host: host.name, facts: $0) } ?? [] }
        return PhasePlan(actions: planned.actions(predicted: context.isPredicted))
    }

    /// What `host` needs, from its facts alone: only what differs from the settings.
    public func steps(host name: String, facts: Facts) -> [HostStep] {
        var steps: [HostStep] = []
        if settings.disableSwap && facts.swapActive > 0 {
            steps.append(
                .run(
                    host: name, summary: "turn swap off (\(facts.swapActive) active)", RemoteCommand("swapoff", ["-a"]))
            )
        }
        if settings.disableSwap && facts.fstabSwap > 0 {
            // Comment the entries out rather than delete them, so an operator can see what was there.
            steps.append(
                .run(
                    host: name,
                    summary:
                        "comment out \(facts.fstabSwap) swap entr\(facts.fstabSwap == 1 ? "y" : "ies") in /etc/fstab",
                    RemoteCommand(
                        "sed",
                        [
                            "-i.cairn-backup", "-E", "/^[^#].*[[:space:]]swap[[:space:]]/s/^/# disabled by cairn: /",
                            "/etc/fstab",
                        ])))
        }
        if !settings.modules.isEmpty && facts.modulesFileText != settings.modulesFileContent {
            steps.append(
                .write(
                    host: name, path: HostPreparation.modulesFile, content: settings.modulesFileContent,
                    current: facts.modulesFileText))
        }
        for module in settings.modules where !facts.modulesPresent.contains(module) {
            steps.append(
                .run(host: name, summary: "load kernel module \(module)", RemoteCommand("modprobe", ["--", module])))
        }
        let wantedFile = settings.sysctlFileContent
        if facts.sysctlFileText != wantedFile {
            let changes = settings.sysctls.compactMap { key, value -> String? in
                let before = Self.sysctlValue(in: facts.sysctlFileText, key: key)
                return before == value ? nil : "\(key) \(before ?? "unset")→\(value)"
            }
            steps.append(
                .write(
                    host: name, path: HostPreparation.sysctlFile, content: wantedFile, current: facts.sysctlFileText,
                    change: changes.isEmpty ? nil : changes.joined(separator: ", ")))
        }
        let liveChanges = settings.sysctls.filter { facts.sysctls[$0.key] != $0.value }
        if !liveChanges.isEmpty {
            // Apply only Cairn's file: `sysctl --system` would also re-apply every other file,
            // including settings that are not Cairn's to touch.
            let description = liveChanges.map {
                "\($0.key) \(facts.sysctls[$0.key].flatMap { $0.isEmpty ? nil : $0 } ?? "unset")→\($0.value)"
            }
            steps.append(
                .run(
                    host: name, summary: "apply sysctls (\(description.joined(separator: ", ")))",
                    RemoteCommand("sysctl", ["-q", "-p", HostPreparation.sysctlFile])))
        }
        if settings.setHostname && facts.hostname != name {
            steps.append(
                .run(
                    host: name, summary: "set hostname \(facts.hostname)→\(name)",
                    RemoteCommand("hostnamectl", ["set-hostname", name])))
        }
        return steps
    }

    static func sysctlValue(in file: String?, key: String) -> String? {
        guard let file else { return nil }
        for line in file.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 && parts[0] == key { return parts[1] }
        }
        return nil
    }
}
