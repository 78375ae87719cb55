import CairnCore
import CairnEngine
import Foundation

/// `etcdctl member list -w json`.
public struct EtcdMemberList: Sendable, Codable, Equatable {
    public struct Member: Sendable, Codable, Equatable {
        public let id: UInt64
        /// Empty for a member that was added but has not started yet.
        public let name: String?
        public let peerURLs: [String]?
        public let clientURLs: [String]?
        public let isLearner: Bool?

        public var learner: Bool { isLearner ?? false }
        public var started: Bool { !(name ?? "").isEmpty }
        public var hexID: String { String(id, radix: 16) }
        /// The URL clients reach it at (a member added but not started has none yet).
        public var clientURL: String? { clientURLs?.first }

        enum CodingKeys: String, CodingKey {
            case id = "ID"
            case name, peerURLs, clientURLs, isLearner
        }

        public init(id: UInt64, name: String?, peerURLs: [String]?, clientURLs: [String]? = nil, isLearner: Bool? = nil)
        {
            self.id = id
            self.name = name
            self.peerURLs = peerURLs
            self.clientURLs = clientURLs
            self.isLearner = isLearner
        }
    }

    public let members: [Member]

    public init(members: [Member]) {
        self.members = members
    }

    public func member(peerURL: String) -> Member? {
        members.first { ($0.peerURLs ?? []).contains(peerURL) }
    }
}

/// One entry of `etcdctl endpoint health -w json`.
public struct EtcdEndpointHealth: Sendable, Codable, Equatable {
    public let endpoint: String
    public let health: Bool
    public let error: String?

    public init(endpoint: String, health: Bool, error: String? = nil) {
        self.endpoint = endpoint
        self.health = health
        self.error = error
    }
}

/// One entry of `etcdctl endpoint status -w json`.
public struct EtcdEndpointStatus: Sendable, Decodable, Equatable {
    public struct Status: Sendable, Decodable, Equatable {
        public struct Header: Sendable, Decodable, Equatable {
            public let memberID: UInt64
            public let revision: Int64?
            enum CodingKeys: String, CodingKey {
                case memberID = "member_id"
                case revision
            }
        }
        public let header: Header
        public let version: String?
        public let dbSize: Int64?
        public let leader: UInt64?
        public let raftIndex: UInt64?
        public let raftAppliedIndex: UInt64?
        public let errors: [String]?
        public let isLearner: Bool?
    }

    public let endpoint: String
    public let status: Status
    enum CodingKeys: String, CodingKey {
        case endpoint = "Endpoint"
        case status = "Status"
    }
}

/// What the etcd phases learn from one etcd host in one round trip.
public struct EtcdHostFacts: Sendable, Codable, Equatable {
    /// `etcd --version` of /usr/local/bin/etcd ("" when absent).
    public let version: String
    /// systemd says etcd is active.
    public let active: Bool
    /// The data directory holds a member (this host has been part of a cluster).
    public let dataDirectory: Bool
    /// /etc/etcd.env, base64 ("-" when absent).
    public let environment: String
    /// etcd.service, base64 ("-" when absent).
    public let unit: String
    /// SHA-256 of the certificate and key files on the host ("" when absent).
    public let certificates: [String: String]
    public let restartNeeded: Bool
    /// `uname -m`.
    public let machine: String
    /// Answers from this host's etcd (nil when it is not running or did not answer).
    public let members: EtcdMemberList?
    public let health: [EtcdEndpointHealth]?
    /// The leader's member ID as this member sees it (decimal; nil when it did not answer).
    public var leader: String? = nil

    public var environmentText: String? { Self.decode(environment) }
    public var unitText: String? { Self.decode(unit) }

    static func decode(_ field: String) -> String? {
        field == "-" ? nil : String(decoding: Data(base64Encoded: field) ?? Data(), as: UTF8.self)
    }

    public init(
        version: String = "", active: Bool = false, dataDirectory: Bool = false, environment: String? = nil,
        unit: String? = nil, certificates: [String: String] = [:], restartNeeded: Bool = false,
        machine: String = "x86_64", members: EtcdMemberList? = nil, health: [EtcdEndpointHealth]? = nil
    ) {
        self.version = version
        self.active = active
        self.dataDirectory = dataDirectory
        self.environment = environment.map { Data($0.utf8).base64EncodedString() } ?? "-"
        self.unit = unit.map { Data($0.utf8).base64EncodedString() } ?? "-"
        self.certificates = certificates
        self.restartNeeded = restartNeeded
        self.machine = machine
        self.members = members
        self.health = health
    }

    /// Decoded as sent, except the health answers, which etcdctl lists in the order they came back:
    /// sorted by endpoint, so that facts read twice compare equal (a saved plan compares them).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(String.self, forKey: .version)
        active = try container.decode(Bool.self, forKey: .active)
        dataDirectory = try container.decode(Bool.self, forKey: .dataDirectory)
        environment = try container.decode(String.self, forKey: .environment)
        unit = try container.decode(String.self, forKey: .unit)
        certificates = try container.decode([String: String].self, forKey: .certificates)
        restartNeeded = try container.decode(Bool.self, forKey: .restartNeeded)
        machine = try container.decode(String.self, forKey: .machine)
        members = try container.decodeIfPresent(EtcdMemberList.self, forKey: .members)
        health = try container.decodeIfPresent([EtcdEndpointHealth].self, forKey: .health)?.sorted {
            $0.endpoint < $1.endpoint
        }
        leader = try container.decodeIfPresent(String.self, forKey: .leader)
    }

    /// The one fact script of the etcd phases. Read-only; asks the local etcd (if running)
    /// for the member list and the health of every member (`--cluster`).

    /// The files whose hashes the facts report.
    public static let certificatePaths = [
        EtcdLayout.caCertificate, EtcdLayout.memberCertificate, EtcdLayout.memberKey,
        EtcdLayout.adminCertificate, EtcdLayout.adminKey,
    ]

    public static func command(dataDirectory: String) -> RemoteCommand {
        RemoteCommand.script(
            .cairnFactsEtcd,
            arguments: [
                dataDirectory, EtcdLayout.environmentFile, EtcdLayout.unitFile, EtcdLayout.restartMarker,
                EtcdLayout.etcdctl, EtcdLayout.caCertificate, EtcdLayout.adminCertificate, EtcdLayout.adminKey,
            ] + certificatePaths)
    }

    /// With `cache`, phases that ask the same host (etcd-install, etcd-cluster) share one answer
    /// while nothing in the run changes.
    public static func gather(executor: any HostExecutor, dataDirectory: String, cache: FactCache? = nil)
        async throws -> EtcdHostFacts
    {
        guard let cache else {
            return try await executor.facts(command(dataDirectory: dataDirectory), as: EtcdHostFacts.self)
        }
        return try await executor.facts(command(dataDirectory: dataDirectory), as: EtcdHostFacts.self, cache: cache)
    }
}
