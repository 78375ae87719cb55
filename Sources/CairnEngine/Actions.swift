import CairnCore
import Foundation

/// Builders for the common kinds of action, so that plans describe changes the same way
/// everywhere ("write PATH (new)", "write PATH (changed: …)").
extension Action {
    /// Writes `content` to `path` on `host` atomically. `current` is what the host has now
    /// (nil: no file); the summary says what changes, `details` holds a line diff.
    public static func writeFile(
        host: String, path: String, content: String, current: String?, mode: String = "644",
        owner: String? = "root:root", predicted: Bool = false, changeSummary: String? = nil,
        secret: Bool = false
    ) -> Action {
        let what: String
        if let current {
            what =
                changeSummary.map { "changed: \($0)" }
                ?? (secret ? "changed" : "changed: " + LineDiff.summary(from: current, to: content))
        } else {
            what = "new"
        }
        // An empty `current` means "exists, content not fetched": no diff to show then.
        let details = secret || current == "" ? [] : LineDiff.lines(from: current ?? "", to: content)
        let data = Data(content.utf8)
        return Action(host: host, summary: "write \(path) (\(what))", details: details, predicted: predicted) { env in
            _ = try await env.host().upload(data, to: path, mode: mode, owner: owner)
        }
    }

    /// Runs a command that must succeed.
    public static func command(
        host: String, summary: String, _ command: RemoteCommand, stdin: Data? = nil,
        timeout: Duration? = nil, predicted: Bool = false
    ) -> Action {
        Action(host: host, summary: summary, details: ["$ " + command.description], predicted: predicted) { env in
            try await env.host().runChecked(command, stdin: stdin, timeout: timeout)
        }
    }
}

/// A small line diff for plans: enough to show which lines a file gains and loses.
public enum LineDiff {
    public static func lines(from old: String, to new: String) -> [String] {
        let before = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let after = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let removed = before.filter { !after.contains($0) && !$0.isEmpty }
        let added = after.filter { !before.contains($0) && !$0.isEmpty }
        return removed.map { "- " + $0 } + added.map { "+ " + $0 }
    }

    /// "+2 -1 lines" style summary.
    public static func summary(from old: String, to new: String) -> String {
        let diff = lines(from: old, to: new)
        let added = diff.filter { $0.hasPrefix("+") }.count
        let removed = diff.filter { $0.hasPrefix("-") }.count
        if added == 0 && removed == 0 { return "whitespace or order" }
        return "+\(added) -\(removed) lines"
    }
}
