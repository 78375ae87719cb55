/// What every error Cairn shows to a person can say about itself.
///
/// Modules define their own error enums; conforming to this lets the command line
/// render any of them the same way — what failed, where, and the next step — and
/// choose the exit code.
public protocol CairnReportableError: Error, Sendable {
    /// One line: what went wrong.
    var summary: String { get }
    /// The host it happened on, when there is one.
    var host: String? { get }
    /// More lines of detail (command, exit status, the last stderr lines).
    var details: [String] { get }
    /// One concrete thing the operator can do next.
    var nextStep: String? { get }
    var exitCode: CairnExitCode { get }
}

extension CairnReportableError {
    public var host: String? { nil }
    public var details: [String] { [] }
    public var nextStep: String? { nil }
    public var exitCode: CairnExitCode { .failure }
}
