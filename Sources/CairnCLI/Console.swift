import ArgumentParser
import CairnCore
import CairnInventory
import CairnPhases
import Foundation

/// Everything a command shows a person goes through here: results on stdout, messages on stderr,
/// both redacted, and every error rendered the one way — what failed, where (host), its details,
/// the next step — with the exit code it carries.
public struct Console: Sendable {
    public let out: OutputStream
    public let err: OutputStream
    public let redactor: Redactor
    public let environment: [String: String]

    public init(
        environment: [String: String] = ProcessInfo.processInfo.environment, redactor: Redactor = Redactor(),
        out: OutputStream? = nil, err: OutputStream? = nil
    ) {
        self.environment = environment
        self.redactor = redactor
        self.out = out ?? OutputStream(handle: .standardOutput, redactor: redactor, environment: environment)
        self.err = err ?? OutputStream(handle: .standardError, redactor: redactor, environment: environment)
    }

    /// Renders any error for people.
    public func report(_ error: any Error) {
        guard let reportable = error as? any CairnReportableError else {
            err.line(err.red("error:") + " \(error)")
            return
        }
        var summary = reportable.summary
        if let host = reportable.host, !host.isEmpty, !summary.contains(host) { summary += " (on \(host))" }
        err.line(err.red("error:") + " " + summary)
        for line in reportable.details { err.line("  " + line) }
        if let next = reportable.nextStep { err.line(err.bold("next:") + " " + next) }
    }

    /// Renders `error` and returns the exit to throw from a command.
    public func fail(_ error: any Error) -> ExitCode {
        report(error)
        return ExitCode((error as? any CairnReportableError)?.exitCode.rawValue ?? CairnExitCode.failure.rawValue)
    }

    /// A message that is not an error, for the operator (warnings, notes), on stderr.
    public func note(_ label: String, _ message: String) {
        err.line(err.yellow(label + ":") + " " + message)
    }

    /// Loads and validates an inventory (every add-on's section), touching no host; on failure
    /// the problems are shown and the command ends with their exit code.
    public func loadInventory(_ path: String) throws -> LoadedInventory {
        do {
            let loaded = try InventoryLoader(environment: environment, addons: Addons.settings).load(path: path)
            for warning in loaded.warnings { err.line(warning.description) }
            return loaded
        } catch {
            throw fail(error)
        }
    }

    /// A destructive command goes ahead only when told to (`--yes`), asked on a terminal and
    /// answered yes, or only showing what it would do (`--dry-run`). Without a terminal and
    /// without `--yes` it refuses and says why, having changed nothing.
    public func requireConfirmation(_ question: String, command: String, yes: Bool, dryRun: Bool) throws {
        if yes || dryRun { return }
        guard isatty(STDIN_FILENO) != 0 else {
            throw fail(
                CommandLineError(
                    "`\(command)` changes the cluster and asks first, but there is no terminal to ask on: nothing was changed",
                    next: "rerun it with --yes (for scripts), or from a terminal; --dry-run shows what it would do",
                    exitCode: .failure))
        }
        guard confirm(question) else {
            throw fail(
                CommandLineError(
                    "nothing was changed", next: "rerun `\(command)` and answer yes, or pass --yes",
                    exitCode: .failure))
        }
    }

    /// On a terminal, asks a yes/no question; elsewhere (and without `--yes`) the answer is no.
    public func confirm(_ question: String) -> Bool {
        guard isatty(STDIN_FILENO) != 0 else { return false }
        out.write(question + " [y/N] ")
        guard let answer = readLine() else { return false }
        return ["y", "yes"].contains(answer.lowercased().trimmingCharacters(in: .whitespaces))
    }
}

/// Errors of the command line itself, with the next step that works.
public struct CommandLineError: Error, CairnReportableError {
    public let summary: String
    public let nextStep: String?
    public let exitCode: CairnExitCode

    public init(_ summary: String, next: String? = nil, exitCode: CairnExitCode = .invalidInput) {
        self.summary = summary
        self.nextStep = next
        self.exitCode = exitCode
    }
}
