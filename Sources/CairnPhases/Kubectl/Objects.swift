import Foundation

/// The parts of Kubernetes objects Cairn reads, decoded from `kubectl get -o json`. Every field is
/// optional where the API may leave it out, so a partial object (a pod not scheduled yet, a
/// Deployment before its first status) decodes and reads as "not ready", never as an error.
public enum K8s {
    public struct ObjectMeta: Codable, Sendable, Equatable {
        public var name: String
        public var namespace: String?
        public var labels: [String: String]?
        public var annotations: [String: String]?

        public init(name: String, namespace: String? = nil, labels: [String: String]? = nil) {
            self.name = name
            self.namespace = namespace
            self.labels = labels
        }
    }

    public struct Condition: Codable, Sendable, Equatable {
        public var type: String
        public var status: String
        public var reason: String?
        public var message: String?

        public var isTrue: Bool { status == "True" }
        /// The message, else the reason: what a person should read about it.
        public var explanation: String? { message ?? reason }
    }

    public struct List<Item: Decodable & Sendable>: Decodable, Sendable {
        public var items: [Item]
        public init(items: [Item]) { self.items = items }
    }

    // MARK: Nodes

    public struct Node: Codable, Sendable, Equatable {
        public struct Status: Codable, Sendable, Equatable {
            public struct Info: Codable, Sendable, Equatable {
                public var kubeletVersion: String?
            }
            public var conditions: [Condition]?
            public var nodeInfo: Info?
        }

        public struct Spec: Codable, Sendable, Equatable {
            /// Cordoned.
            public var unschedulable: Bool?
        }

        public var metadata: ObjectMeta
        public var spec: Spec? = nil
        public var status: Status?

        public var name: String { metadata.name }
        public var isCordoned: Bool { spec?.unschedulable == true }
        public var readyCondition: Condition? { status?.conditions?.first { $0.type == "Ready" } }
        public var isReady: Bool { readyCondition?.isTrue == true }
        /// Roles from the `node-role.kubernetes.io/ROLE` labels, sorted.
        public var roles: [String] {
            let prefix = "node-role.kubernetes.io/"
            return (metadata.labels ?? [:]).keys.filter { $0.hasPrefix(prefix) }.map {
                String($0.dropFirst(prefix.count))
            }.sorted()
        }
        public var kubeletVersion: String? { status?.nodeInfo?.kubeletVersion }
    }

    // MARK: Workloads

    public struct Pod: Codable, Sendable, Equatable {
        public struct Spec: Codable, Sendable, Equatable {
            public var nodeName: String?
        }
        public struct ContainerStatus: Codable, Sendable, Equatable {
            public struct State: Codable, Sendable, Equatable {
                public struct Waiting: Codable, Sendable, Equatable {
                    public var reason: String?
                    public var message: String?
                }
                public var waiting: Waiting?
            }
            public var state: State?
        }
        public struct Status: Codable, Sendable, Equatable {
            public var phase: String?
            public var conditions: [Condition]?
            public var containerStatuses: [ContainerStatus]?
        }

        public var metadata: ObjectMeta
        public var spec: Spec?
        public var status: Status?

        public var name: String { metadata.name }
        public var nodeName: String? { spec?.nodeName }
        public var isRunning: Bool { status?.phase == "Running" }
        public func condition(_ type: String) -> Condition? { status?.conditions?.first { $0.type == type } }

        /// Why the pod is not ready, in a phrase; nil when it is ready.
        public var problem: String? {
            if let scheduled = condition("PodScheduled"), scheduled.status == "False" {
                return "\(name) Pending: \(scheduled.explanation ?? "unschedulable")"
            }
            if let waiting = status?.containerStatuses?.compactMap({ $0.state?.waiting }).first {
                return "\(name) \(waiting.reason ?? "waiting")" + (waiting.message.map { ": \($0)" } ?? "")
            }
            if condition("Ready")?.isTrue != true { return "\(name) \(status?.phase ?? "not ready")" }
            return nil
        }
    }

    public struct Deployment: Codable, Sendable, Equatable {
        public struct Spec: Codable, Sendable, Equatable {
            public var replicas: Int?
        }
        public struct Status: Codable, Sendable, Equatable {
            public var availableReplicas: Int?
            public var readyReplicas: Int?
        }
        public var metadata: ObjectMeta
        public var spec: Spec?
        public var status: Status?

        public var desired: Int { spec?.replicas ?? 0 }
        public var available: Int { status?.availableReplicas ?? 0 }
    }

    public struct DaemonSet: Codable, Sendable, Equatable {
        public struct Status: Codable, Sendable, Equatable {
            public var desiredNumberScheduled: Int?
            public var numberReady: Int?
        }
        public var metadata: ObjectMeta
        public var status: Status?

        public var desired: Int { status?.desiredNumberScheduled ?? 0 }
        public var ready: Int { status?.numberReady ?? 0 }
    }

    // MARK: Services and storage

    public struct Service: Codable, Sendable, Equatable {
        public struct Status: Codable, Sendable, Equatable {
            public struct LoadBalancer: Codable, Sendable, Equatable {
                public struct Ingress: Codable, Sendable, Equatable {
                    public var ip: String?
                    public var hostname: String?
                }
                public var ingress: [Ingress]?
            }
            public var loadBalancer: LoadBalancer?
        }
        public var metadata: ObjectMeta
        public var status: Status?

        /// The first address MetalLB (or another provider) gave the service.
        public var loadBalancerIP: String? { status?.loadBalancer?.ingress?.compactMap(\.ip).first }
    }

    public struct Job: Codable, Sendable, Equatable {
        public struct Status: Codable, Sendable, Equatable {
            public var conditions: [Condition]?
            public var failed: Int?
        }
        public var metadata: ObjectMeta
        public var status: Status?

        public var name: String { metadata.name }
        /// The Failed condition when it is true: the Job gave up (its backoff limit, its deadline).
        public var failure: Condition? {
            status?.conditions?.first { $0.type == "Failed" && $0.isTrue }
        }
    }

    public struct Endpoints: Codable, Sendable, Equatable {
        public struct Subset: Codable, Sendable, Equatable {
            public struct Address: Codable, Sendable, Equatable {
                public var ip: String
            }
            public var addresses: [Address]?
        }
        public var metadata: ObjectMeta
        public var subsets: [Subset]?

        public var readyAddresses: [String] { (subsets ?? []).flatMap { $0.addresses ?? [] }.map(\.ip) }
    }

    public struct PersistentVolumeClaim: Codable, Sendable, Equatable {
        public struct Spec: Codable, Sendable, Equatable {
            public var volumeName: String?
        }
        public struct Status: Codable, Sendable, Equatable {
            public var phase: String?
        }
        public var metadata: ObjectMeta
        public var spec: Spec?
        public var status: Status?

        public var isBound: Bool { status?.phase == "Bound" }
    }

    public struct Event: Codable, Sendable, Equatable {
        public var reason: String?
        public var message: String?
    }

    /// What Cairn writes: a ConfigMap (its add-on records).
    public struct PodDisruptionBudget: Codable, Sendable, Equatable {
        public struct Status: Codable, Sendable, Equatable {
            public var disruptionsAllowed: Int?
            public var currentHealthy: Int?
            public var desiredHealthy: Int?
            public var expectedPods: Int?
        }
        public var metadata: ObjectMeta
        public var status: Status?

        /// It covers pods and lets none of them be evicted now: a drain of their node waits.
        public var blocksEviction: Bool {
            (status?.expectedPods ?? 0) > 0 && (status?.disruptionsAllowed ?? 0) == 0
        }
    }

    public struct ConfigMap: Codable, Sendable, Equatable {
        public var apiVersion = "v1"
        public var kind = "ConfigMap"
        public var metadata: ObjectMeta
        public var data: [String: String]

        public init(metadata: ObjectMeta, data: [String: String]) {
            self.metadata = metadata
            self.data = data
        }
    }
}

/// `ceph status -f json`, as Rook's toolbox prints it (Ceph 17–20). Older releases nest the OSD
/// counts one level deeper (`osdmap.osdmap`); both shapes decode.
public struct CephStatus: Decodable, Sendable, Equatable {
    public struct Health: Decodable, Sendable, Equatable {
        public struct Check: Decodable, Sendable, Equatable {
            public struct Summary: Decodable, Sendable, Equatable {
                public var message: String?
            }
            public var summary: Summary?
        }
        public var status: String
        public var checks: [String: Check]?
    }

    public struct OSDMap: Decodable, Sendable, Equatable {
        public var numOSDs: Int
        public var numUpOSDs: Int
        public var numInOSDs: Int

        enum CodingKeys: String, CodingKey {
            case numOSDs = "num_osds"
            case numUpOSDs = "num_up_osds"
            case numInOSDs = "num_in_osds"
            case osdmap
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            if let nested = try container.decodeIfPresent(OSDMap.self, forKey: .osdmap) {
                self = nested
                return
            }
            numOSDs = try container.decodeIfPresent(Int.self, forKey: .numOSDs) ?? 0
            numUpOSDs = try container.decodeIfPresent(Int.self, forKey: .numUpOSDs) ?? 0
            numInOSDs = try container.decodeIfPresent(Int.self, forKey: .numInOSDs) ?? 0
        }
    }

    public struct PGMap: Decodable, Sendable, Equatable {
        public struct StateCount: Decodable, Sendable, Equatable {
            public var stateName: String
            public var count: Int
            enum CodingKeys: String, CodingKey {
                case stateName = "state_name"
                case count
            }
        }
        public var pgsByState: [StateCount]?
        public var bytesUsed: Int64?
        public var bytesTotal: Int64?
        enum CodingKeys: String, CodingKey {
            case pgsByState = "pgs_by_state"
            case bytesUsed = "bytes_used"
            case bytesTotal = "bytes_total"
        }
    }

    public struct MonMap: Decodable, Sendable, Equatable {
        public var numMons: Int?
        enum CodingKeys: String, CodingKey { case numMons = "num_mons" }
    }

    public var health: Health
    public var quorumNames: [String]?
    public var monmap: MonMap?
    public var osdmap: OSDMap?
    public var pgmap: PGMap?

    enum CodingKeys: String, CodingKey {
        case health
        case quorumNames = "quorum_names"
        case monmap, osdmap, pgmap
    }

    /// "CHECK: message" for each health check, sorted.
    public var checkMessages: [String] {
        (health.checks ?? [:]).map { "\($0.key): \($0.value.summary?.message ?? "")" }.sorted()
    }

    /// "N state" for every placement-group state other than active+clean.
    public var uncleanPGs: [String] {
        (pgmap?.pgsByState ?? []).filter { $0.stateName != "active+clean" }.map { "\($0.count) \($0.stateName)" }
    }
}

/// `ceph osd pool get POOL size -f json`.
public struct CephPoolSize: Decodable, Sendable, Equatable {
    public var size: Int
}

extension K8s.List: Equatable where Item: Equatable {}
extension K8s.List: Encodable where Item: Encodable {}
