import Foundation

/// What `cairn drill` found: one result per scenario with its timeline. The JSON form is
/// documented in docs/drill.md and versioned (`schema`).
public struct DrillReport: Sendable, Encodable {
    public static let schema = "cairn.dev/drill/v1"

    public enum Outcome: String, Sendable, Encodable {
        case passed, failed, refused
        /// Not started: an earlier scenario failed, or the cluster did not return to health.
        case notRun = "not-run"
    }

    public struct CheckResult: Sendable, Encodable {
        public var check: DrillCheck
        public var summary: String
        public var passed: Bool
        public var detail: String
        /// Seconds since the scenario's disruption began.
        public var atSeconds: Double
    }

    public struct Event: Sendable, Encodable {
        public var atSeconds: Double
        public var text: String
    }

    public struct ScenarioResult: Sendable, Encodable {
        public var scenario: DrillScenario
        public var targets: [String]
        public var zone: String?
        public var outcome: Outcome
        /// Why it failed or was refused.
        public var cause: String?
        /// From the disruption until the cluster showed it (Node NotReady, etcd member down,
        /// OSDs down).
        public var detectSeconds: Double?
        /// From the start of the restore until `cairn status` was healthy again.
        public var recoverSeconds: Double?
        /// The longest stretch the API endpoint did not answer `/readyz`, when it was watched.
        public var endpointOutageSeconds: Double?
        public var checks: [CheckResult] = []
        /// Offsets are seconds since the scenario's disruption began (negative: preparation).
        public var timeline: [Event] = []
    }

    public var schema = DrillReport.schema
    public var cluster: String
    public var startedAt: String
    public var scenarios: [ScenarioResult]

    public var passed: Bool { !scenarios.isEmpty && scenarios.allSatisfy { $0.outcome == .passed } }
    public var failedChecks: [String] {
        scenarios.flatMap { scenario in
            scenario.checks.filter { !$0.passed }.map {
                "\(scenario.scenario.rawValue): \($0.check.rawValue): \($0.detail)"
            }
        }
    }

    /// The text shown at the end of a drill.
    public func render(colors: (ok: (String) -> String, bad: (String) -> String, bold: (String) -> String)) -> String {
        var lines: [String] = [colors.bold("Drill of cluster \(cluster)")]
        for result in scenarios {
            let outcome =
                result.outcome == .passed ? colors.ok("passed") : colors.bad(result.outcome.rawValue.uppercased())
            var timings: [String] = []
            if let detect = result.detectSeconds { timings.append("detected in \(Self.seconds(detect))") }
            if let outage = result.endpointOutageSeconds {
                timings.append("API unanswered for \(Self.seconds(outage))")
            }
            if let recover = result.recoverSeconds { timings.append("healthy \(Self.seconds(recover)) after restore") }
            lines.append(
                "  \(result.scenario.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)) \(outcome)  "
                    + result.targets.joined(separator: ", ") + (result.zone.map { " (zone \($0))" } ?? "")
                    + (timings.isEmpty ? "" : "; " + timings.joined(separator: ", ")))
            for check in result.checks {
                lines.append(
                    "    " + (check.passed ? colors.ok("ok  ") : colors.bad("FAIL")) + " \(check.check.rawValue): "
                        + check.detail)
            }
            if let cause = result.cause, result.outcome != .passed { lines.append("    " + colors.bad(cause)) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }

    /// A self-contained page with a timeline per scenario.
    public func html() -> String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;")
        }
        var body = "<h1>Drill of cluster \(escape(cluster))</h1><p>Started \(escape(startedAt)).</p>"
        for result in scenarios {
            body +=
                "<h2 class=\"\(result.outcome.rawValue)\">\(result.scenario.rawValue): \(result.outcome.rawValue)</h2>"
            body += "<p>Targets: \(escape(result.targets.joined(separator: ", ")))"
            if let zone = result.zone { body += " (zone \(escape(zone)))" }
            if let detect = result.detectSeconds { body += "; detected in \(Self.seconds(detect))" }
            if let outage = result.endpointOutageSeconds { body += "; API unanswered for \(Self.seconds(outage))" }
            if let recover = result.recoverSeconds { body += "; healthy \(Self.seconds(recover)) after restore" }
            body += "</p>"
            if let cause = result.cause { body += "<p class=\"failed\">\(escape(cause))</p>" }
            let span = max(
                1, (result.timeline.map(\.atSeconds).max() ?? 1) - min(0, result.timeline.map(\.atSeconds).min() ?? 0))
            let origin = min(0, result.timeline.map(\.atSeconds).min() ?? 0)
            body += "<table><tr><th>t (s)</th><th></th><th>event</th></tr>"
            for event in result.timeline {
                let left = Int(((event.atSeconds - origin) / span) * 300)
                body +=
                    "<tr><td>\(String(format: "%.1f", event.atSeconds))</td><td><svg width=\"310\" height=\"10\"><line x1=\"0\" y1=\"5\" x2=\"300\" y2=\"5\" stroke=\"#ccc\"/><circle cx=\"\(left + 4)\" cy=\"5\" r=\"4\"/></svg></td><td>\(escape(event.text))</td></tr>"
            }
            body += "</table><ul>"
            for check in result.checks {
                body +=
                    "<li class=\"\(check.passed ? "passed" : "failed")\">\(check.passed ? "ok" : "FAIL") <b>\(check.check.rawValue)</b> (\(String(format: "%.1f", check.atSeconds)) s): \(escape(check.detail))</li>"
            }
            body += "</ul>"
        }
        return """
            <!doctype html><html><head><meta charset="utf-8"><title>cairn drill: \(escape(cluster))</title>
            <style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td{padding:0 .5em;font-size:90%}
            .passed{color:#17692b}.failed,.refused,.not-run{color:#a11}</style></head><body>\(body)</body></html>

            """
    }
}
