/// A command to run on a remote host, built from typed arguments.
///
/// There are two shapes and no other way to make one:
/// - `argv`: a program and its arguments, each quoted by `ShellQuote`;
/// - `script`: a shell script written by Cairn (a constant, never built from inventory
///   values) run by `sh -c`, with inventory values passed as positional parameters
///   (`$1`, `$2`, …) so that they are data, never code.
public struct RemoteCommand: Sendable, Hashable, CustomStringConvertible {
    public enum Shape: Sendable, Hashable {
        case argv([String])
        case script(name: String, body: String, arguments: [String])
    }

    public let shape: Shape

    public init(_ program: String, _ arguments: [String] = []) {
        shape = .argv([program] + arguments)
    }

    public init(argv: [String]) {
        precondition(!argv.isEmpty, "a remote command needs a program")
        shape = .argv(argv)
    }

    /// A Cairn-authored script. `name` appears as `$0` (and in `ps`), which helps operators
    /// recognise Cairn's processes on their hosts.
    public static func script(_ body: String, name: String = "cairn", arguments: [String] = []) -> RemoteCommand {
        RemoteCommand(shape: .script(name: name, body: body, arguments: arguments))
    }

    private init(shape: Shape) {
        self.shape = shape
    }

    /// The exact text handed to the remote login shell.
    public var rendered: String {
        switch shape {
        case .argv(let argv):
            return ShellQuote.join(argv)
        case .script(let name, let body, let arguments):
            return ShellQuote.join(["sh", "-c", body, name] + arguments)
        }
    }

    /// The same command run through `sudo -n` (never prompting: a password prompt would hang).
    public var renderedWithSudo: String {
        switch shape {
        case .argv(let argv):
            return ShellQuote.join(["sudo", "-n", "--"] + argv)
        case .script(let name, let body, let arguments):
            return ShellQuote.join(["sudo", "-n", "--", "sh", "-c", body, name] + arguments)
        }
    }

    /// Whether it runs kubectl (directly; scripts are not looked into).
    public var isKubectl: Bool {
        if case .argv(let argv) = shape { return argv.first == "kubectl" }
        return false
    }

    /// A script that may start kubectl itself (`--stats` counts these apart: how many kubectl
    /// processes it starts is not known from outside). Cairn's scripts always start it with an
    /// explicit `--kubeconfig`; a script that only names the binary (to remove it, or to read its
    /// version) does not count.
    public var isScriptCallingKubectl: Bool {
        if case .script(_, let body, _) = shape { return body.contains("kubectl --kubeconfig") }
        return false
    }

    /// All words, for checks such as "no NUL bytes".
    public var words: [String] {
        switch shape {
        case .argv(let argv): return argv
        case .script(let name, let body, let arguments): return [body, name] + arguments
        }
    }

    /// A NUL byte cannot be part of a shell word; such a command is refused before sending.
    public var containsNUL: Bool {
        words.contains { $0.utf8.contains(0) }
    }

    /// A short form for plans and logs: scripts show their name and arguments, not their body.
    public var description: String {
        switch shape {
        case .argv(let argv):
            return ShellQuote.join(argv)
        case .script(let name, _, let arguments):
            return arguments.isEmpty ? "<script \(name)>" : "<script \(name)> " + ShellQuote.join(arguments)
        }
    }
}
