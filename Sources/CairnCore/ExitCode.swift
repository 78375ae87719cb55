/// Cairn's documented process exit codes (docs/exit-codes.md).
public enum CairnExitCode: Int32, Sendable, CaseIterable {
    /// Success; for `plan --detailed-exitcode`, also "no changes".
    case success = 0
    /// Something failed; the report says what and where.
    case failure = 1
    /// `plan --detailed-exitcode` only: changes are pending.
    case changesPending = 2
    /// The inventory or a playbook is invalid; no host was touched (EX_DATAERR).
    case invalidInput = 65
    /// A host could not be reached or authentication failed (EX_NOHOST).
    case unreachable = 68
    /// A verification gate did not pass before its deadline (EX_TEMPFAIL).
    case gateTimeout = 75
}
