import CairnCore
import Foundation
import Testing

@testable import CairnInventory

@Suite struct GrammarTests {
    @Test func ipv4IsStrict() {
        for good in ["0.0.0.0", "10.0.0.1", "255.255.255.255", "192.168.1.10"] {
            #expect(IPAddress(good)?.description == good, "\(good)")
        }
        for bad in [
            "010.1.1.1", "10.0.0.256", "10.0.0", "10.0.0.1.", "1.2.3.4.5", " 10.0.0.1", "10.0.0.1 ", "10.0.0.-1",
            "10.0.0.+1", "0x10.0.0.1", "1e1.0.0.1", "10..0.1", "", "١٠.0.0.1", "10.0.0.01",
        ] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func ipv6IsStrict() {
        let cases = [
            "::": "::", "::1": "::1", "fe80::1": "fe80::1", "2001:DB8::1": "2001:db8::1",
            "2001:db8:0:0:1:0:0:1": "2001:db8::1:0:0:1", "0:0:0:0:0:0:0:1": "::1",
            "::ffff:10.0.0.1": "::ffff:a00:1", "2001:db8::": "2001:db8::", "1:2:3:4:5:6:7:8": "1:2:3:4:5:6:7:8",
            "1:0:0:2:0:0:0:3": "1:0:0:2::3",
        ]
        for (text, canonical) in cases {
            #expect(IPAddress(text)?.description == canonical, "\(text)")
        }
        for bad in [
            ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "fe80::1%eth0", ":1:2:3:4:5:6:7", "g::1", "::10.0.0.256",
            "1:2:3:4:5:6:7::8", "[::1]", "::ffff:010.0.0.1",
        ] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func cidrsAndOverlaps() throws {
        let pods = try #require(IPNetwork("10.244.0.0/16"))
        let services = try #require(IPNetwork("10.96.0.0/12"))
        #expect(!pods.overlaps(services))
        #expect(services.contains(IPAddress("10.99.1.1")!))
        #expect(!services.contains(IPAddress("10.112.0.0")!))
        #expect(IPNetwork("10.0.0.0/8")!.overlaps(pods))
        #expect(IPNetwork("0.0.0.0/0")!.contains(IPAddress("1.2.3.4")!))
        #expect(!IPNetwork("0.0.0.0/0")!.contains(IPAddress("::1")!))
        #expect(IPNetwork("fd00::/64")!.overlaps(IPNetwork("fd00:0:0:0:8000::/65")!))
        #expect(!IPNetwork("fd00::/64")!.overlaps(IPNetwork("fd00:0:0:1::/64")!))
        #expect(IPNetwork("fd00::/64")!.range.last.description == "fd00::ffff:ffff:ffff:ffff")
        #expect(IPNetwork("10.0.0.0/28")!.range.description == "10.0.0.0-10.0.0.15")
        guard case .failure(let problem) = IPNetwork.parse("10.244.1.0/16") else {
            Issue.record("accepted host bits")
            return
        }
        #expect(problem.description == "\"10.244.1.0/16\" has host bits set; the network is 10.244.0.0/16")
        for bad in ["10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/08", "10.0.0.0/-1", "::/129", "10.0.0.0/8/8"] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
    }

    @Test func poolEntries() {
        #expect((try? IPRange.parsePoolEntry("10.0.0.200-10.0.0.220").get())?.description == "10.0.0.200-10.0.0.220")
        #expect((try? IPRange.parsePoolEntry("10.0.0.200 - 10.0.0.220").get()) != nil)
        #expect((try? IPRange.parsePoolEntry("10.0.2.0/28").get())?.description == "10.0.2.0-10.0.2.15")
        #expect((try? IPRange.parsePoolEntry("fd00::1-fd00::ff").get()) != nil)
        for bad in ["10.0.0.2-10.0.0.1", "10.0.0.1-fd00::1", "10.0.0.1", "a-b", "10.0.0.1-10.0.0.2-10.0.0.3"] {
            #expect((try? IPRange.parsePoolEntry(bad).get()) == nil, "\(bad)")
        }
    }

    @Test func hostnames() {
        for good in ["cp1", "node-1", "a", "worker1.example.com", String(repeating: "a", count: 63)] {
            #expect(Grammar.isDNSSubdomain(good), "\(good)")
        }
        for bad in [
            "Node1", "node_1", "-node", "node-", "", ".a", "a..b", "a.", String(repeating: "a", count: 64), "nöde",
            "a b", "a;b",
        ] {
            #expect(!Grammar.isDNSSubdomain(bad), "\(bad)")
        }
        #expect(!Grammar.isDNSSubdomain(Array(repeating: "abcdefghi", count: 26).joined(separator: ".")))
    }

    @Test func sshAddressesCannotCarryShellOrOptions() {
        for good in ["10.0.0.1", "fe80::1", "host.example.com", "Bastion_Alias", "cp1"] {
            #expect(Grammar.isSSHAddress(good), "\(good)")
        }
        for bad in [
            "-oProxyCommand=id", "a;b", "a b", "$(id)", "`id`", "a|b", "user@host", "host:22", "10.0.0.256", "1.2.3",
            "",
            "a\nb", "~root", "*", "a'b", "a\"b", "host/32",
        ] {
            #expect(!Grammar.isSSHAddress(bad), "\(bad.debugDescription)")
        }
    }

    @Test func labelsTaintsDevicesUsers() {
        #expect(Grammar.labelKeyProblem("disk") == nil)
        #expect(Grammar.labelKeyProblem("topology.kubernetes.io/zone") == nil)
        #expect(Grammar.labelKeyProblem("Example.com/a") != nil)
        #expect(Grammar.labelKeyProblem("a/b/c") != nil)
        #expect(Grammar.labelKeyProblem("-a") != nil)
        #expect(Grammar.labelKeyProblem(String(repeating: "k", count: 64)) != nil)
        #expect(Grammar.isLabelValue(""))
        #expect(Grammar.isLabelValue("ssd_1.a-b"))
        #expect(!Grammar.isLabelValue("a b"))
        #expect(!Grammar.isLabelValue("_a"))
        #expect(Grammar.isDevicePath("/dev/vdb"))
        #expect(Grammar.isDevicePath("/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64"))
        #expect(!Grammar.isDevicePath("/dev/"))
        #expect(!Grammar.isDevicePath("/dev/../etc/passwd"))
        #expect(!Grammar.isDevicePath("/etc/passwd"))
        #expect(!Grammar.isDevicePath("/dev/sd b"))
        #expect(!Grammar.isDevicePath("/dev/sdb;reboot"))
        #expect(Grammar.isUserName("root"))
        #expect(Grammar.isUserName("_svc-1"))
        #expect(Grammar.isUserName("machine$"))
        #expect(!Grammar.isUserName("Root"))
        #expect(!Grammar.isUserName("1user"))
        #expect(!Grammar.isUserName(String(repeating: "a", count: 33)))
        #expect(Grammar.isEnvironmentName("CAIRN_SSH_PASSPHRASE"))
        #expect(!Grammar.isEnvironmentName("$HOME"))
        #expect(Grammar.isInterfaceName("eth0"))
        #expect(Grammar.isInterfaceName("enp0s31f6"))
        #expect(!Grammar.isInterfaceName("a/b"))
        #expect(!Grammar.isInterfaceName("sixteen-chars-xx"))
    }

    @Test func didYouMean() {
        #expect(Suggest.closest(to: "rolse", among: InventorySchema.host.keys) == "roles")
        #expect(Suggest.closest(to: "internal_address", among: InventorySchema.host.keys) == "internalAddress")
        #expect(Suggest.closest(to: "ipaddr", among: InventorySchema.host.keys) == nil)
        #expect(Suggest.closest(to: "internal", among: InventorySchema.host.keys) == "internalAddress")
        #expect(Suggest.closest(to: "hostKeyCheck", among: InventorySchema.ssh.keys) == "hostKeyChecking")
        #expect(
            Suggest.closest(to: "master", among: Role.allCases.map(\.rawValue), aliases: InventoryDecoder.roleAliases)
                == "control-plane")
        #expect(Suggest.closest(to: "xyz", among: ["abc"]) == nil)
        #expect(Suggest.distance("kitten", "sitting") == 3)
    }

    /// Values from an inventory reach a remote shell only through `ShellQuote`; run the quoted words
    /// through a real `sh` and check each arrives intact — the values grammars accept, and the
    /// hostile ones they refuse (quoting must hold even if a grammar had a hole).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/sh")))
    func valuesSurviveTheShellThroughShellQuote() throws {
        let values = [
            "cp1", "10.0.0.11", "fe80::1", "topology.kubernetes.io/zone", "/dev/disk/by-id/a_b-c.d", "rack-a",
            "$(reboot)", "a'b", "a\"b", "`id`", "-oProxyCommand=x", "~root", "a b\tc", "* ?", "!", "x=y", "é", "",
        ]
        let command = RemoteCommand("printf", ["%s\\0"] + values)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command.rendered]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let words = output.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
            String(decoding: $0, as: UTF8.self)
        }
        #expect(words == values)
    }
}
