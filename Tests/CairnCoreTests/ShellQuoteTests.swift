import Testing

@testable import CairnCore

@Suite struct ShellQuoteTests {
    @Test func plainWordsStayBare() {
        #expect(ShellQuote.quote("etcd") == "etcd")
        #expect(ShellQuote.quote("/usr/local/bin/etcd") == "/usr/local/bin/etcd")
        #expect(ShellQuote.quote("10.0.0.1:2379") == "10.0.0.1:2379")
    }

    @Test func specialWordsAreQuoted() {
        #expect(ShellQuote.quote("") == "''")
        #expect(ShellQuote.quote("a b") == "'a b'")
        #expect(ShellQuote.quote("it's") == "'it'\\''s'")
        #expect(ShellQuote.quote("$(reboot)") == "'$(reboot)'")
        #expect(ShellQuote.quote("A=b") == "'A=b'")
        #expect(ShellQuote.quote("~root") == "'~root'")
    }

    @Test func scriptsPassValuesAsPositionalParameters() {
        let command = RemoteCommand.script("echo \"$1\"", name: "greet", arguments: ["a b; rm -rf /"])
        #expect(command.rendered == "sh -c 'echo \"$1\"' greet 'a b; rm -rf /'")
        #expect(command.description == "<script greet> 'a b; rm -rf /'")
    }

    @Test func sudoWrapping() {
        #expect(RemoteCommand("id", ["-u"]).renderedWithSudo == "sudo -n -- id -u")
    }
}
