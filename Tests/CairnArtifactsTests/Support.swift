import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct TemporaryDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-artifacts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func cleanUp() { try? FileManager.default.removeItem(at: url) }
}

/// Puts `contents` in `mirror` at the upstream layout of `url` (the URL without its scheme).
@discardableResult
func place(_ contents: String, for url: String, in mirror: URL) throws -> URL {
    let relative = url.replacingOccurrences(of: "https://", with: "")
    let file = mirror.appendingPathComponent(relative)
    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(contents.utf8).write(to: file)
    return file
}

func modificationTime(_ url: URL) -> timespec {
    var info = stat()
    _ = stat(url.path, &info)
    return info.st_mtim
}

/// Every file under `directory`, relative, sorted (hidden ones included).
func listing(_ directory: URL) -> [String] {
    guard let enumerator = FileManager.default.enumerator(atPath: directory.path) else { return [] }
    var files: [String] = []
    while let item = enumerator.nextObject() as? String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(
            atPath: directory.appendingPathComponent(item).path, isDirectory: &isDirectory),
            !isDirectory.boolValue
        {
            files.append(item)
        }
    }
    return files.sorted()
}

func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    } == 0
}

/// Python's `http.server` serving `directory` on 127.0.0.1 at a free port; `stop()` kills it.
final class LocalHTTPServer: @unchecked Sendable {
    static let python: String? = ["/usr/bin/python3", "/usr/local/bin/python3"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static var available: Bool {
        python != nil || ProcessInfo.processInfo.environment["CAIRN_REQUIRE_LAB"] == "1"
    }

    let port: Int
    let process = Process()
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(serving directory: URL) throws {
        guard let python = Self.python else { throw POSIXError(.ENOENT) }
        port = try freeLoopbackPort()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-m", "http.server", "--bind", "127.0.0.1", String(port), "--directory", directory.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date() + 15
        while !canConnect(port: port) {
            guard Date() < deadline, process.isRunning else {
                stop()
                throw POSIXError(.ETIMEDOUT)
            }
            usleep(50_000)
        }
    }

    /// SIGKILL: a child of a Swift test process may start with SIGTERM blocked (the signal
    /// mask of the dispatch thread that spawned it is inherited), so `terminate()` can go unheard.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
