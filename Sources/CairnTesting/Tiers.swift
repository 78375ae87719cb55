import Foundation
import Testing

/// The two test tiers (scripts/test sets CAIRN_TIER): lab suites say which one they belong to.
/// Unit suites carry no tier trait and run in the fast tier.
public enum Tier {
    public static var isLong: Bool { ProcessInfo.processInfo.environment["CAIRN_TIER"] == "long" }
}

extension Trait where Self == ConditionTrait {
    /// Needs the lab (real sshd hosts in network namespaces); fails instead of skipping under
    /// scripts/test (CAIRN_REQUIRE_LAB=1).
    public static var lab: Self { .enabled(if: Lab.shouldRun, "\(Lab.unavailableReason ?? "")") }
    /// Runs in `scripts/test` (the README's test command, CI).
    public static var fastTier: Self { .enabled(if: !Tier.isLong, "in the fast tier (scripts/test)") }
    /// Runs in `scripts/test --long` only.
    public static var longTier: Self { .enabled(if: Tier.isLong, "in the long tier (scripts/test --long)") }
}
