/// An IPv4 or IPv6 address, parsed strictly.
///
/// Written by hand rather than with `inet_pton` so that the accepted text is exactly what this
/// file says: IPv4 is four decimal parts without leading zeros (`010.1.1.1` is refused: some tools
/// read it as octal); IPv6 is RFC 4291 text (`::` once, an optional trailing IPv4 part), without
/// zone identifiers.
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, network order.
    public let bytes: [UInt8]

    public var isIPv4: Bool { bytes.count == 4 }
    public var bitCount: Int { bytes.count * 8 }

    public init?(_ text: String) {
        if let v4 = Self.parseIPv4(Substring(text)) {
            bytes = v4
        } else if let v6 = Self.parseIPv6(text) {
            bytes = v6
        } else {
            return nil
        }
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        if lhs.bytes.count != rhs.bytes.count { return lhs.bytes.count < rhs.bytes.count }
        return lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// The address with every bit after the first `prefixLength` cleared.
    public func masked(to prefixLength: Int) -> IPAddress {
        IPAddress(
            bytes: bytes.enumerated().map { index, byte in
                let bitsHere = min(max(prefixLength - index * 8, 0), 8)
                return bitsHere == 8 ? byte : byte & ~(UInt8(0xFF) >> bitsHere)
            })
    }

    /// The address with every bit after the first `prefixLength` set.
    func filled(from prefixLength: Int) -> IPAddress {
        IPAddress(
            bytes: bytes.enumerated().map { index, byte in
                let bitsHere = min(max(prefixLength - index * 8, 0), 8)
                return bitsHere == 8 ? byte : byte | (UInt8(0xFF) >> bitsHere)
            })
    }

    /// Canonical text: dotted decimal, or RFC 5952 (lowercase, longest zero run compressed).
    public var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            if groups[index] == 0 {
                var end = index
                while end < 8 && groups[end] == 0 { end += 1 }
                if end - index > bestLength {
                    bestStart = index
                    bestLength = end - index
                }
                index = end
            } else {
                index += 1
            }
        }
        func hex(_ slice: ArraySlice<UInt16>) -> String { slice.map { String($0, radix: 16) }.joined(separator: ":") }
        if bestLength < 2 { return hex(groups[...]) }
        return hex(groups[0..<bestStart]) + "::" + hex(groups[(bestStart + bestLength)...])
    }

    private static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            if part.count > 1 && part.first == "0" { return nil }
            guard let value = Int(part), value <= 255 else { return nil }
            out.append(UInt8(value))
        }
        return out
    }

    private static func parseIPv6(_ text: String) -> [UInt8]? {
        guard text.contains(":"), text.utf8.count <= 45 else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }

        // Groups of one side; the last group of the whole address may be an IPv4 address.
        func groups(_ side: String, mayEndWithIPv4: Bool) -> [UInt16]? {
            if side.isEmpty { return [] }
            let parts = side.split(separator: ":", omittingEmptySubsequences: false)
            var out: [UInt16] = []
            for (index, part) in parts.enumerated() {
                if mayEndWithIPv4 && index == parts.count - 1 && part.contains(".") {
                    guard let v4 = parseIPv4(part) else { return nil }
                    out.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    out.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                    continue
                }
                guard (1...4).contains(part.count), part.utf8.allSatisfy(isHexDigit),
                    let value = UInt16(part, radix: 16)
                else { return nil }
                out.append(value)
            }
            return out
        }

        var words: [UInt16]
        if halves.count == 2 {
            guard let head = groups(halves[0], mayEndWithIPv4: false),
                let tail = groups(halves[1], mayEndWithIPv4: true),
                head.count + tail.count <= 7
            else { return nil }
            words = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            guard let all = groups(text, mayEndWithIPv4: true), all.count == 8 else { return nil }
            words = all
        }
        return words.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
    }
}

/// An inclusive range of addresses of one family.
public struct IPRange: Sendable, Hashable, CustomStringConvertible {
    public let first: IPAddress
    public let last: IPAddress

    public init?(first: IPAddress, last: IPAddress) {
        guard first.isIPv4 == last.isIPv4, !(last < first) else { return nil }
        self.first = first
        self.last = last
    }

    public func contains(_ address: IPAddress) -> Bool {
        address.isIPv4 == first.isIPv4 && !(address < first) && !(last < address)
    }

    public func overlaps(_ other: IPRange) -> Bool {
        first.isIPv4 == other.first.isIPv4 && !(other.last < first) && !(last < other.first)
    }

    public var description: String { "\(first)-\(last)" }

    /// Parses a CIDR (`10.0.2.0/28`) or a range (`10.0.0.200-10.0.0.220`), as MetalLB pools take them.
    /// Returns a reason on failure.
    public static func parsePoolEntry(_ text: String) -> Result<IPRange, IPParseError> {
        if text.contains("/") {
            return IPNetwork.parse(text).map(\.range)
        }
        let ends = text.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 2 else {
            return .failure(
                IPParseError("\"\(text)\" is neither a CIDR (10.0.2.0/28) nor a range (10.0.0.200-10.0.0.220)"))
        }
        let lowText = ends[0].trimmingSpaces
        let highText = ends[1].trimmingSpaces
        guard let low = IPAddress(lowText) else { return .failure(IPParseError("\"\(lowText)\" is not an IP address")) }
        guard let high = IPAddress(highText) else {
            return .failure(IPParseError("\"\(highText)\" is not an IP address"))
        }
        guard low.isIPv4 == high.isIPv4 else {
            return .failure(IPParseError("the range \"\(text)\" mixes IPv4 and IPv6"))
        }
        guard let range = IPRange(first: low, last: high) else {
            return .failure(IPParseError("the range \"\(text)\" ends before it starts"))
        }
        return .success(range)
    }
}

public struct IPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A CIDR block with its host bits clear.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        guard case .success(let network) = Self.parse(text) else { return nil }
        self = network
    }

    public init(containing address: IPAddress, prefixLength: Int) {
        self.address = address.masked(to: prefixLength)
        self.prefixLength = prefixLength
    }

    /// Parses `address/prefix`; host bits must be zero (the message names the network meant).
    public static func parse(_ text: String) -> Result<IPNetwork, IPParseError> {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            return .failure(IPParseError("\"\(text)\" is not a CIDR block such as 10.244.0.0/16"))
        }
        guard let address = IPAddress(String(parts[0])) else {
            return .failure(IPParseError("\"\(parts[0])\" in \"\(text)\" is not an IP address"))
        }
        let prefixText = parts[1]
        guard !prefixText.isEmpty, prefixText.count <= 3, prefixText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            !(prefixText.count > 1 && prefixText.first == "0"),
            let prefix = Int(prefixText), prefix <= address.bitCount
        else {
            return .failure(
                IPParseError(
                    "the prefix length \"/\(prefixText)\" in \"\(text)\" is not between 0 and \(address.bitCount)"))
        }
        let network = IPNetwork(containing: address, prefixLength: prefix)
        guard network.address == address else {
            return .failure(IPParseError("\"\(text)\" has host bits set; the network is \(network)"))
        }
        return .success(network)
    }

    public var range: IPRange {
        IPRange(first: address, last: address.filled(from: prefixLength))!
    }

    public func contains(_ other: IPAddress) -> Bool {
        other.isIPv4 == address.isIPv4 && other.masked(to: prefixLength) == address
    }

    public func overlaps(_ other: IPNetwork) -> Bool { range.overlaps(other.range) }

    public var description: String { "\(address)/\(prefixLength)" }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
