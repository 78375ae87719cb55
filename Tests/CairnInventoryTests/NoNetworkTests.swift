import Foundation
import Testing

/// Validation must never reach the network (no name resolution, no connection), whatever the
/// inventory says. The module's sources are scanned for the APIs that could.
@Suite struct NoNetworkTests {
    static let forbidden = [
        "URLSession", "URLRequest", "getaddrinfo", "gethostbyname", "socket(", "connect(", "CFStream", "NWConnection",
        "Data(contentsOf: URL(string", "String(contentsOf: URL(string", "import Network", "import FoundationNetworking",
        "Host.current", "Foundation.Host",
        "import CairnSSH", "import CLibSSH2", "Process(",
    ]

    @Test func inventoryModuleUsesNoNetworkAPI() throws {
        let directory = Fixture.repositoryRoot.appendingPathComponent("Sources/CairnInventory")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.hasSuffix(".swift")
        }
        #expect(files.count > 5)
        for file in files {
            let text = try String(contentsOfFile: directory.appendingPathComponent(file).path, encoding: .utf8)
            for api in Self.forbidden {
                #expect(!text.contains(api), "\(file) uses \(api)")
            }
        }
    }
}
