import CairnCore
import CairnEngine
import CairnInventory
import CairnPKI
import Foundation

/// The etcd PKI on the operator's machine: a CA, a server+peer certificate per member, client
/// certificates for kube-apiserver and for Cairn's etcdctl. Valid certificates are reused as
/// they are; one that lacks a SAN now needed, nears expiry or was signed by another CA is
/// reissued, and the plan says why.
public struct EtcdPKIPhase: Phase {
    public let name = "etcd-pki"
    public let title = "etcd certificates (on the operator's machine)"
    let topology: Topology

    public init(topology: Topology) {
        self.topology = topology
    }

    public typealias Facts = NoFacts

    static func store(_ context: RunContext) throws -> PKIStore {
        guard let state = context.stateDirectory else {
            throw EngineError.internalInconsistency("the etcd PKI needs a state directory")
        }
        return PKIStore(directory: state.appendingPathComponent("pki/etcd"))
    }

    /// Every certificate of the etcd PKI: store name and request.
    static func certificates(for topology: Topology) -> [(name: String, request: CertificateRequest, label: String)] {
        topology.inventory.etcdHosts.map { host in
            (
                EtcdPKI.memberName(host.name),
                CertificateRequest.etcdMember(name: host.name, addresses: [host.internalAddress, host.address]),
                "the etcd member certificate for \(host.name)"
            )
        } + [
            (
                EtcdPKI.apiServerClientName, CertificateRequest.kubeAPIServerEtcdClient(),
                "kube-apiserver's etcd client certificate"
            ),
            (EtcdPKI.etcdctlClientName, CertificateRequest.etcdctlClient(), "Cairn's etcdctl client certificate"),
        ]
    }

    public func plan(facts: [EngineHost: NoFacts], context: PhaseContext) throws -> PhasePlan {
        let store = try Self.store(context.run)
        var actions: [Action] = []
        var notes: [String] = []
        var pending: Set<String> = []
        let caMissing: Bool
        switch store.status(ofCA: EtcdPKI.caName) {
        case .missing:
            caMissing = true
            actions.append(
                Action(host: nil, summary: "create the etcd CA in \(store.directory.path)") { _ in
                    try store.ensureCA(name: EtcdPKI.caName, commonName: EtcdPKI.caCommonName)
                })
        case .valid:
            caMissing = false
        case .expiring(let days):
            caMissing = false
            notes.append(
                "the etcd CA expires in \(days) days; replacing a CA means new certificates on every member and a rolling restart — plan it (docs/pki.md)"
            )
        case .expired(let notAfter):
            throw PKIError.caExpired(name: EtcdPKI.caName, notAfter: notAfter, directory: store.directory.path)
        case .unreadable(let reason):
            throw PKIError.caUnreadable(
                name: EtcdPKI.caName, path: store.certificateURL(EtcdPKI.caName).path, reason: reason)
        }
        for certificate in Self.certificates(for: topology) {
            let status =
                caMissing
                ? .missing
                : store.status(
                    of: certificate.name, request: certificate.request, caName: EtcdPKI.caName,
                    renewalThresholdDays: topology.inventory.certificates.renewBeforeDays)
            let summary: String
            switch status {
            case .valid: continue
            case .missing: summary = "issue \(certificate.label) (new)"
            case .needsReissue(let reason): summary = "reissue \(certificate.label) (\(reason))"
            }
            actions.append(
                Action(host: nil, summary: summary) { _ in
                    try store.ensure(certificate.name, request: certificate.request, caName: EtcdPKI.caName)
                })
            pending.insert(certificate.name)
        }
        if caMissing { pending.insert(EtcdPKI.caName) }
        // Later phases copy these files to hosts; in plan mode they must know which will change.
        context.run.values[PendingPKIChangesKey.self] = pending
        return PhasePlan(actions: actions, notes: notes)
    }
}

/// Certificates the etcd-pki phase will (re)issue in this run: in `plan` mode, the files
/// copied from them to hosts will change although the store still holds the old ones.
public enum PendingPKIChangesKey: RunValueKey {
    public typealias Value = Set<String>
}

/// Content for files that come from the operator's PKI store. In `plan` mode before the PKI
/// exists, the content is not known yet; the plan then says the file will be new.
enum PKIFiles {
    struct Desired {
        let path: String
        let content: String?
        let mode: String
        let secret: Bool
        /// The certificate in the store this file comes from.
        let source: String
    }

    static func etcdMemberFiles(host: String, store: PKIStore) -> [Desired] {
        let member = try? store.pem(of: EtcdPKI.memberName(host))
        let admin = try? store.pem(of: EtcdPKI.etcdctlClientName)
        return [
            Desired(
                path: EtcdLayout.caCertificate, content: try? store.caCertificatePEM(EtcdPKI.caName), mode: "644",
                secret: false, source: EtcdPKI.caName),
            Desired(
                path: EtcdLayout.memberCertificate, content: member?.certificate, mode: "644", secret: false,
                source: EtcdPKI.memberName(host)),
            Desired(
                path: EtcdLayout.memberKey, content: member?.key, mode: "600", secret: true,
                source: EtcdPKI.memberName(host)),
            Desired(
                path: EtcdLayout.adminCertificate, content: admin?.certificate, mode: "644", secret: false,
                source: EtcdPKI.etcdctlClientName),
            Desired(
                path: EtcdLayout.adminKey, content: admin?.key, mode: "600", secret: true,
                source: EtcdPKI.etcdctlClientName),
        ]
    }

    static func apiserverClientFiles(store: PKIStore) -> [Desired] {
        let client = try? store.pem(of: EtcdPKI.apiServerClientName)
        return [
            Desired(
                path: EtcdLayout.kubeadmCA, content: try? store.caCertificatePEM(EtcdPKI.caName), mode: "644",
                secret: false, source: EtcdPKI.caName),
            Desired(
                path: EtcdLayout.apiserverClientCertificate, content: client?.certificate, mode: "644", secret: false,
                source: EtcdPKI.apiServerClientName),
            Desired(
                path: EtcdLayout.apiserverClientKey, content: client?.key, mode: "600", secret: true,
                source: EtcdPKI.apiServerClientName),
        ]
    }

    /// Actions writing the files whose hash on the host differs. Keys are never shown.
    /// The files `host` lacks or holds in another version. In `cairn plan`, files whose source the
    /// PKI phase of this run has still to issue (`pending`) cannot be compared: they are planned
    /// as pending writes.
    static func steps(
        host: String, files: [Desired], remoteHashes: [String: String], isDryRun: Bool,
        pending: Set<String>
    ) throws -> [HostStep] {
        var steps: [HostStep] = []
        for file in files {
            let remote = remoteHashes[file.path] ?? ""
            guard let content = file.content, !(isDryRun && pending.contains(file.source)) else {
                guard isDryRun else {
                    throw EngineError.internalInconsistency("\(file.path) for \(host) is missing from the PKI store")
                }
                steps.append(.pendingWrite(host: host, path: file.path, replacing: !remote.isEmpty))
                continue
            }
            guard SHA256Digest.hex(of: content) != remote else { continue }
            steps.append(
                .write(
                    host: host, path: file.path, content: content, current: remote.isEmpty ? nil : "", mode: file.mode,
                    change: file.secret ? nil : "new certificate", secret: file.secret))
        }
        return steps
    }
}

public struct FileHashes: Sendable, Codable {
    public let hashes: [String: String]

    static func gather(_ paths: [String], executor: any HostExecutor, name: String) async throws -> FileHashes {
        try await executor.facts(
            RemoteCommand.script(.cairnFactsFiles, as: name, arguments: paths), as: FileHashes.self)
    }
}

/// kube-apiserver's side of the external etcd: the etcd CA and its client certificate on every
/// control-plane host, where kubeadm's external-etcd configuration expects them.
public struct EtcdClientCertificatesPhase: Phase {
    public let name = "etcd-client-certs"
    public let title = "etcd client certificates for kube-apiserver"
    public init() {}

    public func gatherFacts(host: EngineHost, executor: any HostExecutor, context: PhaseContext) async throws
        -> FileHashes
    {
        try await FileHashes.gather(
            [EtcdLayout.kubeadmCA, EtcdLayout.apiserverClientCertificate, EtcdLayout.apiserverClientKey],
            executor: executor, name: "cairn-facts-etcd-client")
    }

    public func plan(facts: [EngineHost: FileHashes], context: PhaseContext) throws -> PhasePlan {
        let store = try EtcdPKIPhase.store(context.run)
        let files = PKIFiles.apiserverClientFiles(store: store)
        let pending = context.run.values[PendingPKIChangesKey.self] ?? []
        let steps = try context.hosts.flatMap { host in
            try PKIFiles.steps(
                host: host.name, files: files, remoteHashes: facts[host]?.hashes ?? [:], isDryRun: context.isDryRun,
                pending: pending)
        }
        return PhasePlan(actions: steps.actions(predicted: context.isPredicted))
    }
}
